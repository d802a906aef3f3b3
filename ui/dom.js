// SPDX-License-Identifier: LGPL-2.1-or-later
// Building the page without innerHTML: every text from the gateway goes in as text.

// h('button', { class: 'x', onclick: fn, 'aria-label': '…' }, 'text', child, [more])
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false)
      continue;
    if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2), value);
    else if (key === 'dataset')
      Object.assign(el.dataset, value);
    else
      el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false)
      continue;
    if (Array.isArray(child))
      append(el, child);
    else
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// Moves the focus to the main heading of a new view, for screen readers and keyboards.
export function focusHeading(root) {
  const heading = root.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}
