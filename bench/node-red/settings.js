// SPDX-License-Identifier: LGPL-2.1-or-later
// Node-RED as bench/peers.py runs it: hemgate's peer on 127.0.0.1, the flows of flows.json
// (copied into a fresh user directory per run), the editor on as a user would have it.
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: parseInt(process.env.NODE_RED_PORT || "1880", 10),
    flowFile: "flows.json",
    credentialSecret: false,
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false },
    logging: { console: { level: "info", metrics: false, audit: false } },
    exportGlobalContextKeys: false,
    // the function node that speaks SIP to the ARC opens its own UDP socket
    functionGlobalContext: { dgram: require("dgram") },
    editorTheme: { tours: false, palette: { catalogues: [] } },
};
