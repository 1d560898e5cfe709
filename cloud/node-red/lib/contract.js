'use strict';
// The wire contract is an ES module (@fieldline/contract); Node-RED 4 loads nodes with require(),
// and Node 20 cannot require() ESM, so each node module awaits this import before registering.
let contract;
let natsHelpers;

/** @returns {Promise<typeof import('@fieldline/contract')>} */
function loadContract() {
  contract ??= import('@fieldline/contract');
  return contract;
}

/** The one typed check of JetStream errors (by err_code), shared with the services. @returns {Promise<typeof import('@fieldline/runtime/nats')>} */
function loadNatsHelpers() {
  natsHelpers ??= import('@fieldline/runtime/nats');
  return natsHelpers;
}

module.exports = { loadContract, loadNatsHelpers };
