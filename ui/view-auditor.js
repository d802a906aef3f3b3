// SPDX-License-Identifier: LGPL-2.1-or-later
// The auditor's page: the auditor reads the municipal side of the access log and nothing
// of the home, so this page asks the API for nothing and only says where that log is.
import { h, clear } from './dom.js';
import { _ } from './i18n.js';

export function render(main) {
  clear(main).append(
    h('h1', {}, _('Audit')),
    h('p', {}, _('As an auditor you read who in the municipality looked at what, in the municipal access log. You see nothing of the home itself.')));
}
