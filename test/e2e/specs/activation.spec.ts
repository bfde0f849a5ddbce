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
    await workbench.openFile('pisar-sample.jsonl');
    await page.locator('.statusbar-item', { hasText: 'PiSAR not scored' }).waitFor({ timeout: 30_000 });

    await workbench.runCommand('Developer: Show Running Extensions');
    const entry = page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: 'PiSAR Review' });
    await entry.waitFor({ timeout: 15_000 });
    const entryText = (await entry.innerText()).replace(/\s+/g, ' ');
    await session.screenshot('running-extensions');
    const hostMs = Number(/Activation: (\d+)ms/.exec(entryText)?.[1]);
    assert.ok(Number.isFinite(hostMs), `the Running Extensions view gives an activation time: ${entryText}`);
    assert.doesNotMatch(entryText, /Startup Activation/, 'the extension does not activate at startup');

    const logFile = Session.filesUnder(path.join(session.userDataDir, 'logs')).find((f) => f.endsWith(`${path.sep}PiSAR Review.log`));
    assert.ok(logFile, 'the extension logs to its own LogOutputChannel');
    const logText = fs.readFileSync(logFile, 'utf8');
    const activateMs = Number(/Activated in ([\d.]+) ms/.exec(logText)?.[1]);
    // The review features (dist/review.js) load at the first use: here, the dataset open at activation. (A build
    // from before the split, which the activation bench runs beside this one, loads everything in activate().)
    const firstUse = /the review features loaded at the first use \((.*?)\) in ([\d.]+) ms/.exec(logText);
    // Timings are recorded for the report, not asserted (they depend on the machine's load).
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(path.join(resultsDir, 'activation.json'), JSON.stringify({ runningExtensionsActivationMs: hostMs, activateFunctionMs: activateMs, reviewFeaturesLoadMs: firstUse ? Number(firstUse[2]) : null, reviewFeaturesLoadedFor: firstUse?.[1] ?? null }, null, 2));
    console.log(`      activation: ${hostMs} ms in Running Extensions (code loading + activate call), activate() body ${activateMs} ms${firstUse ? `; the review features loaded for ${firstUse[1]} in ${firstUse[2]} ms` : ''}`);

    // The view opens as a modal editor over the workbench: close it before going on.
    await page.keyboard.press('Escape');
    if (!(await page.locator('.runtime-extensions-editor').waitFor({ state: 'hidden', timeout: 3_000 }).then(() => true, () => false))) {
      await page.locator('.action-label.codicon-close, .action-label.codicon-modal-close').last().click();
      await page.locator('.runtime-extensions-editor').waitFor({ state: 'hidden', timeout: 5_000 });
    }

    assert.equal(onnxRuntimeLoaded(session), false, 'ONNX Runtime is not loaded by activation');
    await workbench.openFile('pisar-sample.jsonl');
    await workbench.editor.goToLine(1);
    await workbench.runCommand('PiSAR Review: Score Row at Cursor');
    await page.locator('.statusbar-item', { hasText: /PiSAR mean.*ft-qwen/ }).waitFor({ timeout: 60_000 });
    assert.equal(onnxRuntimeLoaded(session), true, 'the first score loads ONNX Runtime (so the check above can see it)');
  });
});
