'use strict';
// The wire contract is an ES module (@fieldline/contract); Node-RED 4 loads nodes with require(),
// and Node 20 cannot require() ESM, so each node module awaits this import before registering.
let contract;

/** @returns {Promise<typeof import('@fieldline/contract')>} */
function loadContract() {
  contract ??= import('@fieldline/contract');
  return contract;
}

module.exports = { loadContract };
