// Starts `tokenplan lsp` for Tinybird datafiles: the `tinybird` language (Tinybird's own extension
// gives it to .datasource, .pipe, .endpoint and .incl files; this one adds .connection) and any
// `.connection` file.
import * as fs from "node:fs";
import * as os from "node:os";
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import { findBinary } from "./binary";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("tokenplan");
  context.subscriptions.push(output);
  context.subscriptions.push(vscode.commands.registerCommand("tokenplan.restart", restart));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("tokenplan")) void restart();
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) await running.stop();
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

async function start(): Promise<void> {
  const config = vscode.workspace.getConfiguration("tokenplan");
  const folders = (vscode.workspace.workspaceFolders ?? [])
    .filter((folder) => folder.uri.scheme === "file")
    .map((folder) => folder.uri.fsPath);
  const found = findBinary(
    {
      setting: config.get<string>("path"),
      workspaceFolders: folders,
      envPath: process.env.PATH,
      platform: process.platform,
      arch: process.arch,
      home: os.homedir(),
    },
    isFile,
  );
  if (!found) {
    void vscode.window.showErrorMessage(
      "tokenplan: no `tokenplan` binary found on PATH or in node_modules. Install it " +
        "(`npm install --save-dev tokenplan`, `pip install tokenplan`, `uv tool install tokenplan`) " +
        "or set `tokenplan.path`.",
    );
    return;
  }
  output?.appendLine(`Starting ${found.path} lsp (found by ${found.source}).`);
  const serverOptions: ServerOptions = {
    command: found.path,
    args: ["lsp", ...config.get<string[]>("extraArgs", [])],
    transport: TransportKind.stdio,
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { language: "tinybird" },
      { scheme: "file", pattern: "**/*.connection" },
    ],
    outputChannel: output,
  };
  client = new LanguageClient("tokenplan", "tokenplan", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    void vscode.window.showErrorMessage(`tokenplan: cannot start ${found.path} lsp: ${error}`);
  }
}
