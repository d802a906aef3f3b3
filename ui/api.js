// SPDX-License-Identifier: LGPL-2.1-or-later
// The HTTP API (data/openapi.json) with the session cookie the core sets at login.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

let unauthenticatedHandler = null;

// Called when a request answers 401: the session expired or was revoked.
export function onUnauthenticated(handler) {
  unauthenticatedHandler = handler;
}

// @headers: more request headers, e.g. { 'Idempotency-Key': key }.
export async function api(method, path, body, headers = {}) {
  const init = { method, credentials: 'same-origin', headers: { ...headers, Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, 'network', error.message);
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data?.error?.code ?? 'http',
      data?.error?.message ?? response.statusText,
      Number.parseInt(response.headers.get('Retry-After') ?? '0', 10) || 0);
    if (response.status === 401 && path !== '/api/v1/auth/login' && unauthenticatedHandler)
      unauthenticatedHandler();
    throw error;
  }
  return data;
}

// A new Idempotency-Key: 128 random bits in hex (crypto.randomUUID needs a secure context).
export function newIdempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// The newest events of the caller's domain (at most @count), and the sequence number a
// stream started after them misses nothing from.
export async function recentEvents(count) {
  const first = await api('GET', '/api/v1/events?limit=1');
  const after = Math.max(0, (first.last_seq ?? 0) - count);
  const page = await api('GET', '/api/v1/events?after=' + after + '&limit=' + Math.min(count, 1000));
  const events = page.events ?? [];
  return { events, lastSeq: events.length > 0 ? events[events.length - 1].seq : after };
}

// The devices of the caller's domain from GET /api/v1/sensors, as a Map of device → Map
// of kind → newest reading ({ device, kind, value, unit, ts, room, battery }), so that a
// sensor that reports rarely is listed as well as one heard a minute ago.
export async function sensorDevices() {
  const result = await api('GET', '/api/v1/sensors');
  const devices = new Map();
  for (const device of result.devices ?? []) {
    const kinds = new Map();
    for (const reading of device.readings ?? [])
      kinds.set(reading.kind, { ...reading, device: device.device, room: device.room, battery: device.battery });
    devices.set(device.device, kinds);
  }
  return devices;
}
