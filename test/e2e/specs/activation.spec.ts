import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resultsDir } from '../harness/paths';
import { Session } from '../harness/session';

/** Whether any extension host process of the session has ONNX Runtime's native library mapped. */
function onnxRuntimeLoaded(session: Session): boolean {
  const pids = session.codeServer.extensionHostPids();
  assert.ok(pids.length > 0, 'an extension host runs');
  return pids.some((pid) => fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libonnxruntime'));
}

/**
 * The rows of these extensions in Developer: Show Running Extensions, as text, once each has activated (the
 * view lists extensions whose activation started; a row gets its time when it is done); the view is closed again.
 */
async function runningExtensions(session: Session, names: readonly string[], screenshot: string): Promise<string[]> {
  const { workbench, page } = session;
  await workbench.runCommand('Developer: Show Running Extensions');
  const texts: string[] = [];
  for (const name of names) {
    const entry = page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: name }).filter({ hasText: /Activation: \d+ms/ });
    await entry.waitFor({ timeout: 30_000 });
    texts.push((await entry.innerText()).replace(/\s+/g, ' '));
  }
  await session.screenshot(screenshot);
  // The view opens as a modal editor over the workbench: close it before going on.
  await page.keyboard.press('Escape');
  if (!(await page.locator('.runtime-extensions-editor').waitFor({ state: 'hidden', timeout: 3_000 }).then(() => true, () => false))) {
    await page.locator('.action-label.codicon-close, .action-label.codicon-modal-close').last().click();
    await page.locator('.runtime-extensions-editor').waitFor({ state: 'hidden', timeout: 5_000 });
  }
  return texts;
}


/** The extension's own log (a LogOutputChannel the review features create), if it exists yet. */
function reviewLog(session: Session): string | undefined {
  const file = Session.filesUnder(path.join(session.userDataDir, 'logs')).find((f) => f.endsWith(`${path.sep}PiSAR Review.log`));
  return file === undefined ? undefined : fs.readFileSync(file, 'utf8');
}

const FIRST_USE = /the review features loaded at the first use \((.*?)\) in ([\d.]+) ms/;

describe('Activation', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({ name: 'activation', server: { latencyMs: 10 }, models: [{ name: 'ft-qwen', model: 'ft-qwen3-vl-8b' }] });
  });

  after(async function () {
    await session?.close();
  });

  it('activates on opening a dataset without loading transformers.js or ONNX Runtime, which load at the first score', async function () {
    const { workbench, page } = session;
    // The workbench may fire onLanguage:json as it starts (its settings models), which activates this
    // extension in one batch with the built-ins of the JSON languages (NPM support, JSON and TypeScript
    // language features...): they load one after another, and VS Code's figure for each includes the loading
    // of those before it (NPM support 1,590 ms, this one 1,634 ms at load 17), so the figure has two modes.
    await workbench.openFile('pisar-sample.jsonl');
    await page.locator('.statusbar-item', { hasText: 'PiSAR not scored' }).waitFor({ timeout: 30_000 });

    const [entryText] = await runningExtensions(session, ['PiSAR Review'], 'running-extensions');
    const hostMs = Number(/Activation: (\d+)ms/.exec(entryText)?.[1]);
    assert.ok(Number.isFinite(hostMs), `the Running Extensions view gives an activation time: ${entryText}`);
    assert.doesNotMatch(entryText, /Startup Activation/, 'the extension does not activate at startup');

    const logText = reviewLog(session);
    assert.ok(logText !== undefined, 'the extension logs to its own LogOutputChannel');
    const activateMs = Number(/Activated in ([\d.]+) ms/.exec(logText)?.[1]);
    // The review features (dist/review.js) load at the first use: here, the dataset open at activation. (A build
    // from before the split, which the activation bench runs beside this one, loads everything in activate().)
    const firstUse = FIRST_USE.exec(logText);
    // Timings are recorded for the report, not asserted (they depend on the machine's load).
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(path.join(resultsDir, 'activation.json'), JSON.stringify({ runningExtensionsActivationMs: hostMs, activateFunctionMs: activateMs, reviewFeaturesLoadMs: firstUse ? Number(firstUse[2]) : null, reviewFeaturesLoadedFor: firstUse?.[1] ?? null }, null, 2));
    console.log(`      activation: ${hostMs} ms in Running Extensions (code loading + activate call), activate() body ${activateMs} ms${firstUse ? `; the review features loaded for ${firstUse[1]} in ${firstUse[2]} ms` : ''}`);

    assert.equal(onnxRuntimeLoaded(session), false, 'ONNX Runtime is not loaded by activation');
    await workbench.openFile('pisar-sample.jsonl');
    await workbench.editor.goToLine(1);
    await workbench.runCommand('PiSAR Review: Score Row at Cursor');
    await page.locator('.statusbar-item', { hasText: /PiSAR mean.*ft-qwen/ }).waitFor({ timeout: 60_000 });
    assert.equal(onnxRuntimeLoaded(session), true, 'the first score loads ONNX Runtime (so the check above can see it)');
  });
});

describe('A JSON file that is not a dataset', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({
      name: 'activation-json',
      server: false,
      sample: false,
      files: {
        'plain.json': JSON.stringify({ not: 'a dataset', nested: { a: 1 } }, null, 2) + '\n',
        'rows.jsonl': `${JSON.stringify({ id: 'a', input: 'Why did it stop?', rationale: 'A person stepped in front of it.' })}\n`,
      },
    });
  });

  after(async function () {
    await session?.close();
  });

  it('activates the extension without loading the review features, which load when a dataset opens', async function () {
    const { workbench, page } = session;
    await workbench.openFile('plain.json');
    // Positive signal: VS Code has activated the extension (on the JSON language) and timed it.
    await runningExtensions(session, ['PiSAR Review'], 'activation-json');
    assert.equal(reviewLog(session), undefined, 'no PiSAR Review log: the review features (which create it) did not load for a JSON document');
    assert.equal(await page.locator('.statusbar-item', { hasText: /^PiSAR/ }).count(), 0, 'no PiSAR status bar item for a JSON document');

    await workbench.openFile('rows.jsonl');
    await page.locator('.statusbar-item', { hasText: 'PiSAR not scored' }).waitFor({ timeout: 30_000 });
    const firstUse = FIRST_USE.exec(reviewLog(session) ?? '');
    assert.equal(firstUse?.[1], 'a dataset opened', `the review features loaded when the dataset opened: ${reviewLog(session)}`);
  });
});
