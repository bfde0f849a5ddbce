// Preloaded with NODE_OPTIONS=--require: the process (and its worker threads) behave as on a machine without
// internet. Every fetch to a host other than this machine fails as undici's does when DNS finds nothing, so a
// test of the offline path is the same on a connected machine and never downloads.
'use strict';
const realFetch = globalThis.fetch;
globalThis.fetch = async function offlineFetch(input, init) {
  const url = String(input && typeof input === 'object' && 'url' in input ? input.url : input);
  if (/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url)) return realFetch(input, init);
  const cause = Object.assign(new Error(`getaddrinfo ENOTFOUND ${new URL(url).hostname} (offline test)`), { code: 'ENOTFOUND' });
  throw new TypeError('fetch failed', { cause });
};
