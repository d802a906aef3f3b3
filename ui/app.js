// SPDX-License-Identifier: LGPL-2.1-or-later
// The hemgate web UI: entry point.
document.getElementById('main').textContent = 'hemgate';
