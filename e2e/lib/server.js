// Starts a real `tessera serve` for the browser tests, mirroring compat/conftest.py: a fresh
// data dir, `tessera init` with the owner's password on stdin, then `serve` on a free loopback
// port with `--development` (for /emails/) and `--site-url http://127.0.0.1:PORT`. Also the
// CLI helpers (users), plain HTTP helpers for the API, and the official Python client
// (`zulip==0.9.1` from the project's venv) run against a zuliprc.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, '..');
export const REPO_ROOT = path.resolve(E2E_DIR, '..');

export const DEFAULT_BIN = path.join(REPO_ROOT, 'target', 'debug', 'tessera');
export const OWNER_EMAIL = 'owner@example.com';
export const OWNER_PASSWORD = 'owner-password-E2e-1';
export const OWNER_NAME = 'Olivia Owner';
export const ORG_NAME = 'Tessera E2E';
export const API_KEY_RE = /^[A-Za-z0-9]{32}$/;

const STARTUP_TIMEOUT_MS = Number(process.env.TESSERA_STARTUP_TIMEOUT ?? 15) * 1000;
const CLI_TIMEOUT_MS = 60_000;
// The binary may be swapped by a concurrent `cargo build`; wait this long for it to reappear.
const BINARY_WAIT_MS = 60_000;

export function tesseraBin() {
  return process.env.TESSERA_BIN || DEFAULT_BIN;
}

export function venvDir() {
  return process.env.TESSERA_VENV || path.join(REPO_ROOT, '.venv');
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

async function waitForBinary(bin) {
  const deadline = Date.now() + BINARY_WAIT_MS;
  while (!isExecutable(bin)) {
    if (Date.now() > deadline) {
      throw new Error(
        `tessera binary not found or not executable at ${bin} ` +
          '(set TESSERA_BIN, or build it with `cargo build -p tessera`)',
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

/** An environment without the developer's tessera/zulip settings or proxies. */
function cleanEnv(home) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('TESSERA_') || k.startsWith('ZULIP_')) continue;
    if (/^(https?|all|no)_proxy$/i.test(k)) continue;
    env[k] = v;
  }
  env.HOME = home;
  env.NO_PROXY = env.no_proxy = '127.0.0.1,localhost';
  // Let the server's log level be chosen from outside the harness.
  if (process.env.TESSERA_LOG) env.TESSERA_LOG = process.env.TESSERA_LOG;
  return env;
}

/**
 * Run a program; resolves to {code, stdout, stderr} (never rejects on a non-zero exit).
 * Retries a few times when the program is momentarily missing or being written.
 */
export async function runProcess(argv, { stdin = '', env, timeoutMs = CLI_TIMEOUT_MS } = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await runOnce(argv, { stdin, env, timeoutMs });
    } catch (e) {
      if ((e.code === 'ENOENT' || e.code === 'ETXTBSY') && attempt < 20) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      throw e;
    }
  }
}

function runOnce(argv, { stdin, env, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: ${argv.join(' ')}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the program may exit before reading stdin
    child.stdin.end(stdin);
  });
}

/** Parse a zuliprc (INI) text into {section: {key: value}}. */
export function parseIni(text) {
  const out = {};
  let section = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1].trim();
      out[section] ??= {};
      continue;
    }
    const eq = line.search(/[=:]/);
    if (eq < 0 || section === null) continue;
    out[section][line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return out;
}

function basic(email, key) {
  return 'Basic ' + Buffer.from(`${email}:${key}`).toString('base64');
}

export class Tessera {
  constructor() {
    this.bin = tesseraBin();
    this.workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-'));
    this.dataDir = path.join(this.workdir, 'data');
    this.home = path.join(this.workdir, 'home');
    fs.mkdirSync(this.home);
    this.logPath = path.join(this.workdir, 'serve.log');
    this.transcript = [];
    this.proc = null;
    this.port = null;
    this.site = null;
    this.owner = { email: OWNER_EMAIL, password: OWNER_PASSWORD, fullName: OWNER_NAME };
    this.rcCounter = 0;
  }

  // ------------------------------------------------------------------ CLI
  /** `tessera ARGS... --data-dir DIR`; throws on a non-zero exit unless check is false. */
  async cli(args, { stdin = '', check = true } = {}) {
    await waitForBinary(this.bin);
    const argv = [this.bin, ...args, '--data-dir', this.dataDir];
    const r = await runProcess(argv, { stdin, env: cleanEnv(this.home) });
    this.transcript.push(
      `$ ${argv.join(' ')}\n  exit=${r.code}\n  stdout=${JSON.stringify(r.stdout)}\n  stderr=${JSON.stringify(r.stderr)}`,
    );
    if (check && r.code !== 0) {
      throw new Error(
        `command failed (exit ${r.code}): ${argv.join(' ')}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
      );
    }
    return r;
  }

  async init() {
    await this.cli(
      ['init', '--org-name', ORG_NAME, '--email', this.owner.email, '--full-name', this.owner.fullName],
      { stdin: this.owner.password + '\n' },
    );
  }

  /** Create a person with the CLI (password on stdin); returns {email, password, fullName}. */
  async createUser(email, fullName, password, role = 'member') {
    await this.cli(['user', 'create', '--email', email, '--full-name', fullName, '--role', role], {
      stdin: password + '\n',
    });
    return { email, password, fullName };
  }

  async zuliprcText(email) {
    return (await this.cli(['zuliprc', '--email', email])).stdout;
  }

  // --------------------------------------------------------------- server
  async start() {
    await this.init();
    await this.serve();
    return this;
  }

  async serve() {
    if (this.proc) throw new Error('server already running');
    await waitForBinary(this.bin);
    this.port = await freePort();
    this.site = `http://127.0.0.1:${this.port}`;
    const argv = [
      this.bin,
      'serve',
      '--data-dir', this.dataDir,
      '--listen', `127.0.0.1:${this.port}`,
      '--site-url', this.site,
      '--development',
    ];
    this.transcript.push(`$ ${argv.join(' ')} &   (log: ${this.logPath})`);
    const log = fs.openSync(this.logPath, 'a');
    try {
      this.proc = spawn(argv[0], argv.slice(1), {
        env: cleanEnv(this.home),
        stdio: ['ignore', log, log],
      });
    } finally {
      fs.closeSync(log);
    }
    this.exit = null;
    this.proc.on('exit', (code, signal) => {
      this.exit = { code, signal };
    });
    this.proc.on('error', (e) => {
      this.exit = { error: e };
    });
    await this.waitReady();
  }

  async waitReady() {
    const url = `${this.site}/api/v1/server_settings`;
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let last = 'no attempt made';
    for (;;) {
      if (this.exit) {
        this.proc = null;
        throw new Error(
          `tessera serve exited (${JSON.stringify(this.exit)}) before becoming ready.\n` +
            `--- server log ---\n${this.readLog()}`,
        );
      }
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
        const body = await r.text();
        if (r.status === 200 && JSON.parse(body).result === 'success') return;
        last = `HTTP ${r.status}: ${body.slice(0, 500)}`;
      } catch (e) {
        last = String(e);
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(
          `tessera serve did not answer GET ${url} with success within ${STARTUP_TIMEOUT_MS} ms; ` +
            `last attempt: ${last}\n--- server log ---\n${this.readLog()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop() {
    const proc = this.proc;
    this.proc = null;
    if (!proc || this.exit) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Remove the temp dir (keep it when a test failed, for inspection). */
  cleanup() {
    fs.rmSync(this.workdir, { recursive: true, force: true });
  }

  readLog() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '(no log file)';
    }
  }

  /** Everything useful when a test failed: the CLI transcript and the server log. */
  diagnostics() {
    return (
      `--- tessera commands (workdir ${this.workdir}) ---\n${this.transcript.join('\n')}\n` +
      `--- tessera serve log (${this.site}) ---\n${this.readLog()}`
    );
  }

  // ----------------------------------------------------------------- HTTP
  /**
   * A request to the server without a browser. `auth` is {email, key} for HTTP Basic; `form`
   * an object sent as application/x-www-form-urlencoded. Redirects are not followed.
   * Resolves to {status, headers, text, json}.
   */
  async http(method, urlPath, { auth, form, headers = {} } = {}) {
    const h = { ...headers };
    if (auth) h.Authorization = basic(auth.email, auth.key);
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    const r = await fetch(this.site + urlPath, { method, headers: h, body, redirect: 'manual' });
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, headers: r.headers, text, json };
  }

  /** The account's own API key (Zulip's one key, as "Manage your API key" shows it), read
   *  from its zuliprc through the CLI. */
  async accountKey(email) {
    const text = await this.zuliprcText(email);
    const m = /^key=(\S+)$/m.exec(text);
    if (!m) throw new Error(`no key in the zuliprc of ${email}: ${text}`);
    return m[1];
  }

  /** `POST /api/v1/fetch_api_key`: this login's own key (a device key, tessera's default);
   *  throws unless success. */
  async fetchApiKey(username, password) {
    const r = await this.http('POST', '/api/v1/fetch_api_key', { form: { username, password } });
    if (r.status !== 200 || r.json?.result !== 'success') {
      throw new Error(`fetch_api_key for ${username} failed: HTTP ${r.status} ${r.text}`);
    }
    return r.json.api_key;
  }

  // -------------------------------------------------------- Python client
  /**
   * Run the official Python client (`zulip.Client(config_file=...)`) with this zuliprc text
   * and call `method` (default get_profile) with `args` (JSON values). Resolves to
   * {response, httpStatus}: the parsed JSON the client returned (e.g. {result: 'error', code,
   * msg}) and the HTTP status it saw.
   */
  async pythonCall(zuliprc, method = 'get_profile', args = []) {
    this.rcCounter += 1;
    const rcPath = path.join(this.workdir, `zuliprc-${this.rcCounter}`);
    await fsp.writeFile(rcPath, zuliprc, { mode: 0o600 });
    const python = path.join(venvDir(), 'bin', 'python');
    const script = [
      'import json, sys, zulip',
      "client = zulip.Client(config_file=sys.argv[1], client='tessera-e2e', retry_on_errors=False)",
      'seen = []',
      'client.ensure_session()',
      'orig = client.session.request',
      'def request(*a, **kw):',
      '    r = orig(*a, **kw)',
      '    seen.append(r.status_code)',
      '    return r',
      'client.session.request = request',
      'response = getattr(client, sys.argv[2])(*json.loads(sys.argv[3]))',
      "print(json.dumps({'response': response, 'httpStatus': seen[-1] if seen else None}))",
    ].join('\n');
    const r = await runProcess([python, '-c', script, rcPath, method, JSON.stringify(args)], {
      env: cleanEnv(this.home),
    });
    this.transcript.push(
      `$ ${python} -c <zulip.Client(config_file=${rcPath}).${method}()>\n  exit=${r.code}\n` +
        `  stdout=${JSON.stringify(r.stdout)}\n  stderr=${JSON.stringify(r.stderr)}`,
    );
    if (r.code !== 0) {
      throw new Error(
        `the Python client failed (exit ${r.code}; venv ${venvDir()})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
      );
    }
    return JSON.parse(r.stdout.trim().split('\n').pop());
  }

  /** `zulip.Client(config_file=...).get_profile()`: the parsed JSON result. */
  async pythonGetProfile(zuliprc) {
    return (await this.pythonCall(zuliprc, 'get_profile')).response;
  }
}

/** Start a fresh initialised server (owner created, `--development`). */
export async function startTessera() {
  const t = new Tessera();
  try {
    await t.start();
  } catch (e) {
    console.error(t.diagnostics());
    throw e;
  }
  return t;
}
