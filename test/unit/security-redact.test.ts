import * as assert from 'node:assert/strict';
import { redactCredentials } from '../../src/core/security/redact';

const KEY = 'sk-proj-Abc123_def456-GHI789jkl';

/** Asserts the text no longer holds `secret` and says where something was masked. */
function masked(text: string, secret: string, known: string[] = []): string {
  const out = redactCredentials(text, known);
  assert.ok(!out.includes(secret), `"${secret}" survived in: ${out}`);
  assert.match(out, /\[redacted\]/);
  return out;
}

describe('security: redactCredentials', () => {
  it('masks Authorization headers in every spelling a log or error quotes them', () => {
    assert.equal(redactCredentials('Authorization: Bearer abc.def-ghi'), 'Authorization: [redacted]');
    assert.equal(redactCredentials('authorization=Basic dXNlcjpwYXNz'), 'authorization=[redacted]');
    masked('{"headers":{"Authorization":"Bearer tok_9f8e7d6c5b4a"}}', 'tok_9f8e7d6c5b4a');
    masked("{ authorization: 'Bearer tok_9f8e7d6c5b4a', accept: 'json' }", 'tok_9f8e7d6c5b4a');
    masked('Proxy-Authorization: Basic dXNlcjpwYXNz', 'dXNlcjpwYXNz');
  });

  it('masks a bare Bearer token and sk- keys wherever they appear', () => {
    assert.equal(redactCredentials('sent Bearer abcdef123456 to the proxy'), 'sent Bearer [redacted] to the proxy');
    assert.equal(redactCredentials(`Incorrect API key provided: ${KEY}.`), 'Incorrect API key provided: sk-[redacted].');
    masked(`key=${KEY}`, KEY);
  });

  it('masks api-key headers and JSON fields, keeping the field name', () => {
    assert.equal(redactCredentials('api-key: 0123456789abcdef'), 'api-key: [redacted]');
    assert.equal(redactCredentials('x-api-key=0123456789abcdef'), 'x-api-key=[redacted]');
    assert.equal(redactCredentials('{"api_key":"0123456789abcdef","model":"gpt"}'), '{"api_key":"[redacted]","model":"gpt"}');
    assert.equal(redactCredentials('{"apiKey": "0123456789abcdef"}'), '{"apiKey": "[redacted]"}');
    masked('{"access_token":"ya29.a0Af_xyz"}', 'ya29.a0Af_xyz');
  });

  it('masks keys in URLs: query parameters and user:password, leaving the rest of the URL readable', () => {
    assert.equal(
      redactCredentials('cannot reach https://example.openai.azure.com/v1?api-version=2024&api-key=0123456789abcdef (ECONNREFUSED)'),
      'cannot reach https://example.openai.azure.com/v1?api-version=2024&api-key=[redacted] (ECONNREFUSED)',
    );
    assert.equal(redactCredentials('GET https://g.example/v1/models?key=AIzaSyXYZ123&alt=json'), 'GET https://g.example/v1/models?key=[redacted]&alt=json');
    assert.equal(redactCredentials('http://user:hunter2secret@127.0.0.1:8080/v1'), 'http://user:[redacted]@127.0.0.1:8080/v1');
    masked('https://host/v1?token=abcdef123456', 'abcdef123456');
  });

  it('masks every occurrence of a known secret whatever it looks like', () => {
    const bare = '7f3c9a1e5b2d';
    const out = masked(`the proxy said: key ${bare} is not valid for ${bare}`, bare, [bare]);
    assert.equal(out, 'the proxy said: key [redacted] is not valid for [redacted]');
    // Too short to mask by value without mangling ordinary words.
    assert.equal(redactCredentials('a cat sat', ['cat']), 'a cat sat');
  });

  it('leaves text without credentials as it is', () => {
    const plain = 'm1 r3: HTTP 500: The server had an error (gave up after 5 attempts); see https://example.com/v1/chat/completions?stream=false';
    assert.equal(redactCredentials(plain), plain);
    assert.equal(redactCredentials('the key of the row is "id"; the monkey ate a banana'), 'the key of the row is "id"; the monkey ate a banana');
  });
});
