// Preloaded by native.test.ts: makes `require('koffi')` fail as it does where koffi is not installed.
const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'koffi') throw new Error("Cannot find module 'koffi'");
  return load.call(this, request, ...rest);
};
