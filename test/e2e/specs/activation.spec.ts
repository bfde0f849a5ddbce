import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resultsDir } from '../harness/paths';
import { Session } from '../harness/session';
import { until } from '../harness/wait';

/** Whether any extension host process of the session has ONNX Runtime's native library mapped. */
function onnxRuntimeLoaded(session: Session): boolean {
  const pids = session.codeServer.extensionHostPids();
  assert.ok(pids.length > 0, 'an extension host runs');
  return pids.some((pid) => fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libonnxruntime'));
}

/**
 * The text of one extension's row in the open Running Extensions view once VS Code has timed its activation. The
 * view is a virtual list sorted by activation time, longest first, that renders only the rows in sight (about
 * thirteen): a quickly activated extension sits below them, so the list is walked down (and from the top again,
 * while the row may still say "Activating...") until the row shows.
 */
async function runningExtensionRow(session: Session, name: string): Promise<string> {
  const { page } = session;
  const view = page.locator('.runtime-extensions-editor');
  const rows = view.locator('.monaco-list-row');
  const entry = rows.filter({ hasText: name }).filter({ hasText: /Activation: \d+ms/ });
  await rows.first().waitFor({ timeout: 30_000 });
  const box = await view.locator('.monaco-list').first().boundingBox();
  assert.ok(box, 'the Running Extensions list is on screen');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await entry.first().waitFor({ timeout: 300 }).then(() => true, () => false)) return entry.first().innerText();
    if (Date.now() > deadline) {
      const seen = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')).join(' | ');
      assert.fail(`no timed row for ${name} in Running Extensions within 30 s; rows in sight: ${seen}`);
    }
    const last = rows.last();
    const atEnd = (await last.getAttribute('aria-posinset')) === (await last.getAttribute('aria-setsize'));
    await page.mouse.wheel(0, atEnd ? -100_000 : 200);
  }
}

/**
 * The rows of these extensions in Developer: Show Running Extensions, as text, once each has activated (the
 * view lists extensions whose activation started; a row gets its time when it is done); the view is closed again.
 */
async function runningExtensions(session: Session, names: readonly string[], screenshot: string): Promise<string[]> {
  const { workbench, page } = session;
  await workbench.runCommand('Developer: Show Running Extensions');
  const texts: string[] = [];
  for (const name of names) texts.push((await runningExtensionRow(session, name)).replace(/\s+/g, ' '));
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

/**
 * How the extension host started this extension's activation, from its log ("ExtensionService#_doActivateExtension
 * <id>, startup: <bool>, activationEvent: '<event>'"): the event, and the other extensions whose activation started
 * in the 20 ms before it. VS Code starts the clock of every extension of one activation batch at once and loads
 * their code one after another (built-ins first), so the figure of the last one counts the code loading of all.
 */
async function activationStart(session: Session, id: string): Promise<{ event: string; startedWith: string[] } | undefined> {
  // The extension host's log file is written after the fact: wait for the line of this extension's activation.
  const readLog = async (): Promise<string> => {
    const log = Session.filesUnder(path.join(session.userDataDir, 'logs')).find((f) => /exthost\d*[\\/](remote)?exthost\.log$/.test(f));
    return log === undefined ? '' : fs.readFileSync(log, 'utf8');
  };
  const text = await until(session, `the extension host's log to hold the activation of ${id}`, readLog, (t) => t.includes(`_doActivateExtension ${id},`));
  const starts = [...text.matchAll(/^(\S+ \S+) \[info\] ExtensionService#_doActivateExtension ([^,]+), startup: \w+, activationEvent: '([^']*)'/gm)]
    .map((m) => ({ at: Date.parse(m[1].replace(' ', 'T')), id: m[2], event: m[3] }));
  const own = starts.find((s) => s.id === id);
  if (own === undefined) return undefined;
  return { event: own.event, startedWith: starts.filter((s) => s !== own && s.at <= own.at && own.at - s.at <= 20).map((s) => `${s.id} (${s.event})`) };
}

const FIRST_USE = /the review features loaded at the first use \((.*?)\) in ([\d.]+) ms/;

/**
 * The extension's log once it holds `pattern`. VS Code writes a LogOutputChannel to its file after the line is
 * logged (the extension host hands it to the window's logger, which flushes it later), so the file may not hold
 * a line yet when the status bar already shows what followed it: wait for the line, do not read once.
 */
async function reviewLogWith(session: Session, pattern: RegExp): Promise<string> {
  const text = await until(session, `the PiSAR Review log to hold ${pattern}`, async () => reviewLog(session) ?? '', (t) => pattern.test(t));
  return text;
}

describe('Activation', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({ name: 'activation', server: { latencyMs: 10 }, models: [{ name: 'ft-qwen', model: 'ft-qwen3-vl-8b' }] });
  });

  after(async function () {
    await session?.close();
  });

  it('activates apart from the JSON languages\' built-ins without loading transformers.js or ONNX Runtime, which load at the first score', async function () {
    const { workbench, page } = session;
    // The extension activates when a dataset opens (onLanguage:jsonl) or once startup has finished
    // (onStartupFinished, for a .json file holding JSONL), whichever comes first. It no longer activates on
    // onLanguage:json, which the workbench fires as it starts (its settings models): that activated it in one
    // batch with the built-ins of the JSON languages (Configuration Editing, JSON and TypeScript language
    // features, Extension Authoring, NPM support), whose code VS Code loads first, one after another, while the
    // clock of every extension of the batch runs (Running Extensions: 274-1,444 ms for this one, 16-23 ms alone).
    await workbench.openFile('pisar-sample.jsonl');
    await page.locator('.statusbar-item', { hasText: 'PiSAR not scored' }).waitFor({ timeout: 30_000 });

    const [entryText] = await runningExtensions(session, ['PiSAR Review'], 'running-extensions');
    const hostMs = Number(/Activation: (\d+)ms/.exec(entryText)?.[1]);
    assert.ok(Number.isFinite(hostMs), `the Running Extensions view gives an activation time: ${entryText}`);
    assert.doesNotMatch(entryText, /Startup Activation/, 'the extension does not activate at startup');

    // The extension logs to its own LogOutputChannel: the activation line and VS Code's marks.
    const logText = await reviewLogWith(session, /Activated in [\d.]+ ms/);
    const activateMs = Number(/Activated in ([\d.]+) ms/.exec(logText)?.[1]);
    // VS Code's own marks around the require of this extension's entry (Running Extensions' clock starts earlier).
    const codeLoadMark = /VS Code's marks: its code loaded in (\d+) ms/.exec(logText);
    // The review features (dist/review.js) load at the first use: here, the dataset open at activation. (A build
    // from before the split, which the activation bench runs beside this one, loads everything in activate().)
    const firstUse = FIRST_USE.exec(logText);
    const started = await activationStart(session, 'pisar.pisar-review');
    // Timings are recorded for the report, not asserted (they depend on the machine's load).
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(path.join(resultsDir, 'activation.json'), JSON.stringify({ runningExtensionsActivationMs: hostMs, activateFunctionMs: activateMs, ownCodeLoadMs: codeLoadMark ? Number(codeLoadMark[1]) : null, reviewFeaturesLoadMs: firstUse ? Number(firstUse[2]) : null, reviewFeaturesLoadedFor: firstUse?.[1] ?? null, activationEvent: started?.event ?? null, activationStartedWith: started?.startedWith ?? null }, null, 2));
    console.log(`      activation: ${hostMs} ms in Running Extensions (code loading + activate call), activate() body ${activateMs} ms, its code loaded in ${codeLoadMark?.[1]} ms by VS Code's marks${firstUse ? `; the review features loaded for ${firstUse[1]} in ${firstUse[2]} ms` : ''}; activated on '${started?.event}' beside ${started?.startedWith.length ? started.startedWith.join(', ') : 'no other extension'}`);

    assert.ok(codeLoadMark, `the log gives VS Code's marks of the extension's own code loading: ${logText}`);
    assert.ok(started, 'the extension host logged the start of the activation');
    const jsonBatch = [started.event, ...started.startedWith].filter((s) => /onLanguage:jsonc?\b/.test(s));
    assert.deepEqual(jsonBatch, [], `activated on '${started.event}', not in the JSON languages' batch (beside ${started.startedWith.join(', ')})`);

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
    // Positive signal: VS Code has activated the extension (startup has finished) and timed it.
    await runningExtensions(session, ['PiSAR Review'], 'activation-json');
    assert.equal(reviewLog(session), undefined, 'no PiSAR Review log: the review features (which create it) did not load for a JSON document');
    assert.equal(await page.locator('.statusbar-item', { hasText: /^PiSAR/ }).count(), 0, 'no PiSAR status bar item for a JSON document');

    await workbench.openFile('rows.jsonl');
    await page.locator('.statusbar-item', { hasText: 'PiSAR not scored' }).waitFor({ timeout: 30_000 });
    const logText = await reviewLogWith(session, FIRST_USE);
    assert.equal(FIRST_USE.exec(logText)?.[1], 'a dataset opened', `the review features loaded when the dataset opened: ${logText}`);
  });
});

describe('A .json file holding JSONL opened first', function () {
  let session: Session;

  before(async function () {
    session = await Session.start({
      name: 'activation-json-dataset',
      server: false,
      sample: false,
      files: { 'rows.json': `${JSON.stringify({ id: 'a', input: 'Why did it stop?', rationale: 'A person stepped in front of it.' })}\n${JSON.stringify({ id: 'b', input: 'Why did it turn?', rationale: 'The road bends.' })}\n` },
    });
  });

  after(async function () {
    await session?.close();
  });

  it('opens as a dataset (the JSONL language, CodeLens on its rows, the status bar) with no .jsonl opened before it', async function () {
    const { workbench, page } = session;
    await workbench.openFile('rows.json');
    // The review features give it the JSONL language and a session: the row's CodeLens.
    await page.locator('.statusbar-item', { hasText: /^JSON Lines$/ }).waitFor({ timeout: 30_000 });
    await workbench.editor.root.locator('.codelens-decoration', { hasText: 'Score row' }).first().waitFor({ timeout: 30_000 });
    // It is the active dataset, as a .jsonl opened first is: the status bar names it (it did not, with no new editor event).
    await page.locator('.statusbar-item', { hasText: 'PiSAR not scored' }).waitFor({ timeout: 30_000 });
    const logText = await reviewLogWith(session, FIRST_USE);
    assert.match(FIRST_USE.exec(logText)?.[1] ?? '', /^a dataset open(ed| at activation)$/, `the review features loaded for the dataset: ${logText}`);
  });
});
