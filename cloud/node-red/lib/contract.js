'use strict';
// The wire contract, the typed JetStream error checks and the NATS client, from
// dist/fieldline.cjs: the bundle build.mjs makes of @fieldline/contract, @fieldline/runtime/nats
// (neither is published) and nats, so the installed palette has no dependencies. The launcher,
// `npm pack` and the server .deb build it; without it the palette cannot load, and says how to
// build it.
let bundle;
function load() {
  if (!bundle) {
    try {
      bundle = require('../dist/fieldline.cjs');
    } catch (err) {
      throw new Error(`node-red-contrib-fieldline: dist/fieldline.cjs is missing or broken; build it with \`node build.mjs\` in the palette's folder (${err.message})`, { cause: err });
    }
  }
  return bundle;
}

/** @returns {Promise<typeof import('@fieldline/contract')>} */
function loadContract() {
  return Promise.resolve().then(() => load().contract);
}

/** The one typed check of JetStream errors (by err_code), shared with the services. @returns {Promise<typeof import('@fieldline/runtime/nats')>} */
function loadNatsHelpers() {
  return Promise.resolve().then(() => load().natsHelpers);
}

/** The NATS client (nats.js), the one copy in the bundle. @returns {typeof import('nats')} */
function nats() {
  return load().nats;
}

module.exports = { loadContract, loadNatsHelpers, nats };
