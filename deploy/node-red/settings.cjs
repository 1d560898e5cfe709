'use strict';
/**
 * Node-RED settings for fieldline (demo and production template). CommonJS because Node-RED 4
 * require()s its settings file and the repository is "type": "module".
 *
 * Required environment:
 *   FL_NODE_RED_PASSWORD          editor/admin API password (hashed here with bcrypt at start-up)
 *   FL_NODE_RED_CREDENTIAL_SECRET key that encrypts flows_cred.json (NATS and API secrets)
 * Optional: FL_NODE_RED_USER (admin), FL_NODE_RED_HOST (127.0.0.1), FL_NODE_RED_PORT (1880),
 *   FL_NODE_RED_LOG_LEVEL (info), FL_NODE_RED_NODES_DIR (the palette: ../../cloud/node-red).
 * The example flows read FL_NATS_URL, FL_API_URL, FL_ALERT_WEBHOOK_URL, FL_DIGEST_WEBHOOK_URL,
 * FL_SMTP_HOST, FL_SMTP_PORT, FL_ALERT_EMAIL_FROM and FL_ALERT_EMAIL_TO (see README).
 */
const path = require('node:path');
const bcrypt = require('bcryptjs');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`deploy/node-red/settings.cjs: environment variable ${name} must be set (admin surfaces need credentials)`);
  return value;
}

module.exports = {
  uiHost: process.env.FL_NODE_RED_HOST || '127.0.0.1',
  uiPort: Number(process.env.FL_NODE_RED_PORT || 1880),
  // Relative names resolve in the user dir (the launcher copies the flow file there).
  flowFile: 'flows.json',
  flowFilePretty: true,
  credentialSecret: required('FL_NODE_RED_CREDENTIAL_SECRET'),
  adminAuth: {
    type: 'credentials',
    sessionExpiryTime: 86400,
    users: [
      {
        username: process.env.FL_NODE_RED_USER || 'admin',
        password: bcrypt.hashSync(required('FL_NODE_RED_PASSWORD'), 10),
        permissions: '*',
      },
    ],
  },
  nodesDir: [process.env.FL_NODE_RED_NODES_DIR || path.resolve(__dirname, '../../cloud/node-red')],
  // Repeat suppression keeps "delivered" marks in `file` so a restart does not resend them.
  contextStorage: {
    default: { module: 'memory' },
    file: { module: 'localfilesystem', config: { flushInterval: 5 } },
  },
  // No outbound calls the operator did not ask for (the demo runs offline).
  telemetry: { enabled: false, updateNotification: false },
  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  // The palette manager may install nodes (Slack, Telegram, …) with the system's npm: only a
  // logged-in admin can, the editor being behind adminAuth. Nothing installs by itself
  // (autoInstall), and Function nodes load no modules.
  externalModules: { autoInstall: false, palette: { allowInstall: true, allowUpload: true } },
  functionExternalModules: false,
  exportGlobalContextKeys: false,
  editorTheme: {
    projects: { enabled: false },
    palette: { categories: ['fieldline', 'common', 'function', 'network', 'sequence', 'parser', 'storage', 'social'] },
  },
  logging: {
    console: { level: process.env.FL_NODE_RED_LOG_LEVEL || 'info', metrics: false, audit: false },
  },
};
