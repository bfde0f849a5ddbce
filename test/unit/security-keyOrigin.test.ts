import * as assert from 'node:assert/strict';
import { decideKeyRelease, originOf, sameOrigin } from '../../src/core/security/keyOrigin';

describe('security: API keys bound to an origin', () => {
  const bound = originOf('https://api.example.com/v1');

  it('binds to scheme, host and port only', () => {
    assert.equal(bound, 'https://api.example.com');
    assert.equal(originOf('http://127.0.0.1:8000/v1/'), 'http://127.0.0.1:8000');
    assert.equal(originOf('HTTPS://API.Example.com:443/v1'), 'https://api.example.com', 'default port and case normalised');
    assert.equal(originOf('not a url'), 'not a url');
  });

  it('sends the key to the same origin, whatever the path', () => {
    assert.ok(sameOrigin(bound, 'https://api.example.com/v1'));
    assert.ok(sameOrigin(bound, 'https://api.example.com/openai/deployments/x?api-version=1'));
    assert.ok(sameOrigin(bound, 'https://API.EXAMPLE.COM:443/v2'));
  });

  it('does not send it to another scheme, host or port', () => {
    assert.ok(!sameOrigin(bound, 'http://api.example.com/v1'), 'scheme');
    assert.ok(!sameOrigin(bound, 'https://api.example.com.evil.test/v1'), 'host with the bound host as a prefix');
    assert.ok(!sameOrigin(bound, 'https://evil.test/api.example.com/v1'), 'host');
    assert.ok(!sameOrigin(bound, 'https://api.example.com:8443/v1'), 'port');
    assert.ok(!sameOrigin(bound, 'https://user@evil.test/v1'), 'userinfo does not fool it');
    assert.ok(!sameOrigin('http://127.0.0.1:8000', 'http://127.0.0.1:8001/v1'), 'another port on the same host');
    assert.ok(!sameOrigin('http://127.0.0.1:8000', 'http://localhost:8000/v1'), 'another name for the same host');
  });

  it('never matches what is not an http(s) URL', () => {
    assert.ok(!sameOrigin('not a url', 'not a url'));
    assert.ok(!sameOrigin(originOf('file:///etc/passwd'), 'file:///etc/passwd'));
    assert.notEqual(originOf('file:///a'), originOf('file:///b'), 'opaque origins stay distinct');
  });

  it('decides: send to the bound origin, ask for another, remember the answer for the session', () => {
    const other = 'http://127.0.0.1:9999/v1';
    assert.equal(decideKeyRelease({ boundOrigin: bound, baseUrl: 'https://api.example.com/v1' }), 'send');
    assert.equal(decideKeyRelease({ boundOrigin: bound, baseUrl: other }), 'ask');
    assert.equal(decideKeyRelease({ boundOrigin: bound, baseUrl: other, allowedThisSession: ['http://127.0.0.1:9999'] }), 'send');
    assert.equal(decideKeyRelease({ boundOrigin: bound, baseUrl: other, refusedThisSession: new Set(['http://127.0.0.1:9999']) }), 'withhold');
    assert.equal(decideKeyRelease({ boundOrigin: bound, baseUrl: other, allowedThisSession: ['http://127.0.0.1:9998'] }), 'ask', 'an allowance is for one origin');
  });
});
