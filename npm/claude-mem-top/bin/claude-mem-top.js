#!/usr/bin/env node
// claude-mem-top's npm launcher. The binary itself ships in one npm package per platform
// (@claude-mem-top/<platform>-<arch>), listed as optionalDependencies of this package, so npm
// installs only the one whose `os`/`cpu` match. This file finds it and runs it with the same
// arguments, standard streams and exit status. Plain Node (>= 16), no dependencies.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

// `${process.platform} ${process.arch}` -> the package that carries that binary.
const PACKAGES = {
  'linux x64': '@claude-mem-top/linux-x64',
  'linux arm64': '@claude-mem-top/linux-arm64',
  'darwin x64': '@claude-mem-top/darwin-x64',
  'darwin arm64': '@claude-mem-top/darwin-arm64',
  'win32 x64': '@claude-mem-top/win32-x64',
};

const OTHER_WAYS =
  'install it another way: a release archive from ' +
  'https://github.com/claude-mem-top/claude-mem-top/releases, or `cargo install claude-mem-top`';

// One line on stderr, exit 1: what is missing and how to get it another way.
function fail(message) {
  process.stderr.write(`claude-mem-top: ${message}\n`);
  process.exit(1);
}

function binaryPath() {
  // For testing a local build through the launcher.
  const override = process.env.CLAUDE_MEM_TOP_BINARY;
  if (override) {
    if (!fs.existsSync(override)) {
      fail(`CLAUDE_MEM_TOP_BINARY names ${override}, which does not exist; unset it or ${OTHER_WAYS}`);
    }
    return override;
  }
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PACKAGES[`${process.platform} ${process.arch}`];
  if (!pkg) {
    fail(`no prebuilt binary for ${platform} (there are: linux-x64, linux-arm64, darwin-x64, ` +
      `darwin-arm64, win32-x64); ${OTHER_WAYS}`);
  }
  let manifest;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch (_) {
    fail(`the platform package ${pkg} is not installed (optional dependencies were skipped, ` +
      `e.g. --no-optional or --omit=optional); reinstall without that option ` +
      `(npm i -g claude-mem-top) or ${OTHER_WAYS}`);
  }
  const exe = process.platform === 'win32' ? 'claude-mem-top.exe' : 'claude-mem-top';
  const bin = path.join(path.dirname(manifest), 'bin', exe);
  if (!fs.existsSync(bin)) {
    fail(`${pkg} is installed but has no bin/${exe}; reinstall it (npm i -g claude-mem-top) or ${OTHER_WAYS}`);
  }
  return bin;
}

function main() {
  const bin = binaryPath();
  const child = childProcess.spawn(bin, process.argv.slice(2), {
    stdio: 'inherit',
    windowsHide: false,
  });

  // Signals sent to the launcher go on to the binary; the launcher waits for it to exit. On
  // Windows there are no signals to forward: a console Ctrl-C or Ctrl-Break reaches the binary
  // through the shared console (and node's kill() would be TerminateProcess), so the launcher
  // only keeps waiting.
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const handlers = {};
  for (const signal of forwarded) {
    handlers[signal] = () => {
      if (process.platform !== 'win32' && child.exitCode === null && child.signalCode === null) {
        try {
          child.kill(signal);
        } catch (_) {
          // Already gone: the exit event follows.
        }
      }
    };
    process.on(signal, handlers[signal]);
  }
  if (process.platform === 'win32') {
    process.on('SIGBREAK', () => {});
  }

  child.on('error', (err) => {
    fail(`cannot run ${bin}: ${err.message}; reinstall it (npm i -g claude-mem-top) or ${OTHER_WAYS}`);
  });

  child.on('exit', (code, signal) => {
    if (signal) {
      // Die the way the binary died, so the caller sees the same signal (128 + n in a shell).
      for (const s of forwarded) {
        process.removeListener(s, handlers[s]);
      }
      try {
        process.kill(process.pid, signal);
      } catch (_) {
        // A signal that cannot be raised here: fall through to the shell convention.
      }
      const number = require('os').constants.signals[signal];
      process.exit(number ? 128 + number : 1);
    }
    process.exit(code === null ? 1 : code);
  });
}

main();
