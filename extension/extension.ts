// extension: activation — builds the engine host, the capture controller, the visualizer's
// serializer, the views, the status bar and the commands, owns everything that must be disposed,
// starts a capture when the workspace asks for one, and shuts the engine down on deactivate.
import * as vscode from 'vscode';
import { CaptureController, resolveWorkspacePath, type CaptureRequest } from './capture-controller';
import { Commands } from './commands';
import { decodeCaptureCommand } from './decode-command';
import { EngineHost } from './engine-host';
import { registerRulesLanguage } from './rules/index';
import { CaptureRulesSources } from './rules-sources-impl';
import { readSettings } from './settings';
import { CaptureStatusBar } from './status-bar';
import { VIEW_TYPE, VisualizerPanel } from './visualizer';
import { CapturesView } from './views/captures';
import { ConnectionsView } from './views/connections';
import { RulesView } from './views/rules';

/** What activate() returns: for the tests, and for the rules language (`registerRulesLanguage(context, api.rulesSources, api.log)`). */
export interface BypassScopeApi {
  readonly controller: CaptureController;
  readonly engine: EngineHost;
  readonly commands: Commands;
  readonly rulesSources: CaptureRulesSources;
  readonly log: vscode.LogOutputChannel;
  readonly statusBar: CaptureStatusBar;
  readonly views: { readonly captures: CapturesView; readonly connections: ConnectionsView; readonly rules: RulesView };
  /** The visualizer panel, when one is open. */
  visualizer(): VisualizerPanel | undefined;
  /** The error messages shown for engine crashes, newest last. */
  readonly crashMessages: string[];
}

let engineHost: EngineHost | undefined;

export function activate(context: vscode.ExtensionContext): BypassScopeApi {
  const log = vscode.window.createOutputChannel('Bypass Scope', { log: true });
  const engine = new EngineHost({ enginePath: vscode.Uri.joinPath(context.extensionUri, 'out', 'engine', 'main.js').fsPath, log });
  engineHost = engine;
  const controller = new CaptureController(engine, context.extensionUri, log);
  const commands = new Commands(context, controller, engine, log);
  const rulesSources = new CaptureRulesSources(controller);
  const views = { captures: new CapturesView(controller), connections: new ConnectionsView(controller), rules: new RulesView(controller) };
  const statusBar = new CaptureStatusBar(controller);
  const crashMessages: string[] = [];

  context.subscriptions.push(
    log,
    controller,
    engine,
    rulesSources,
    statusBar,
    views.captures,
    views.connections,
    views.rules,
    vscode.window.registerTreeDataProvider('bypassScope.captures', views.captures),
    views.connections.attach(vscode.window.createTreeView('bypassScope.connections', { treeDataProvider: views.connections })),
    vscode.window.registerTreeDataProvider('bypassScope.rules', views.rules),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel) => {
        VisualizerPanel.revive(panel, context.extensionUri, controller, log);
      },
    }),
    ...commands.register(),
    vscode.commands.registerCommand('bypassScope.decodeCapture', (uri?: vscode.Uri) => decodeCaptureCommand(context, log, uri)),
    // The view and editor buttons that act on a running capture show only while there is one.
    controller.onDidChangeCaptureState(() => void vscode.commands.executeCommand('setContext', 'bypassScope.captureLive', controller.live !== undefined)),
    controller.onDidCrash(({ capture, crash }) => {
      const kept = capture === undefined ? '' : ` The ${capture.store.totalPackets.toLocaleString('en-US')} packets captured so far are kept.`;
      const message = `Bypass Scope: the engine crashed: ${crash.message}.${kept}`;
      crashMessages.push(message);
      void vscode.window.showErrorMessage(message, 'Restart', 'Show Log').then((choice) => {
        if (choice === 'Restart') void vscode.commands.executeCommand('bypassScope.restartEngine');
        if (choice === 'Show Log') log.show();
      });
    }),
  );

  // The .bypass language: diagnostics, completion, hover, CodeLens, preview, and reload on save.
  registerRulesLanguage(context, rulesSources, log);

  if (readSettings().startCaptureOnOpen) void startOnOpen(commands, log);

  return {
    controller,
    engine,
    commands,
    rulesSources,
    log,
    statusBar,
    views,
    visualizer: () => VisualizerPanel.current,
    crashMessages,
  };
}

/** The workspace asked (bypassScope.startCaptureOnOpen, or BYPASS_SCOPE_START_ON_OPEN=1) for a sim capture with the visualizer open. */
async function startOnOpen(commands: Commands, log: vscode.LogOutputChannel): Promise<void> {
  const settings = readSettings();
  let rulesUri: string | undefined;
  if (settings.defaultRulesFile) rulesUri = resolveWorkspacePath(settings.defaultRulesFile).toString();
  else rulesUri = (await vscode.workspace.findFiles('**/*.bypass', '**/node_modules/**', 1))[0]?.toString();
  const request: CaptureRequest = { backend: 'sim', scenario: settings.defaultScenario, rulesUri, impairment: 'none' };
  log.info(`start on open: a sim capture (${request.scenario}) with rules ${rulesUri ?? 'built in'}`);
  // The Bypass Scope views beside the visualizer, rather than the Explorer.
  await vscode.commands.executeCommand('bypassScope.captures.focus');
  const c = await commands.startCapture(request);
  if (c !== undefined) commands.openVisualizer();
}

export async function deactivate(): Promise<void> {
  // The engine stops its capture, sends what it has and exits (SIGKILL after 2 s).
  await engineHost?.shutdown();
  engineHost = undefined;
}
