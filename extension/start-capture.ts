// extension: Start Capture's questions — backend, then the scenario, device or capture file, then the
// rules file and the impairment preset — as quick picks, skipping any the caller already answered.
import { networkInterfaces } from 'node:os';
import * as vscode from 'vscode';
import type { BackendName } from '../engine/protocol';
import { SCENARIOS } from '../engine/workloads/mixed';
import type { CaptureRequest } from './capture-controller';
import { IMPAIRMENT_PRESETS } from './impairments';
import { backendAllowed, readSettings } from './settings';

interface BackendItem extends vscode.QuickPickItem {
  readonly backend: BackendName;
}

const BACKEND_INFO: Record<BackendName, { label: string; detail: string }> = {
  sim: { label: 'sim', detail: 'A simulated network: the userspace stack and an emulated Linux kernel behind one NIC. No privileges; deterministic.' },
  lab: { label: 'lab', detail: 'The real Linux kernel on the kernel path, in a private user + network namespace with two TAP devices.' },
  tap: { label: 'tap', detail: 'Attach to a TAP device you made; the real kernel is behind it.' },
  afpacket: { label: 'afpacket', detail: 'Watch and steer on a real interface (needs CAP_NET_RAW).' },
  pcap: { label: 'pcap', detail: 'Replay a pcap or pcapng file through the rules and the dissectors.' },
};

/** Backends the running engine has (from its hello); all of them when it has not started yet. */
export type AvailableBackends = readonly BackendName[] | undefined;

/**
 * Asks what is missing from `given`; resolves undefined when the user cancels a question.
 * `available` marks backends this engine cannot run yet (they stay selectable: the engine says why).
 */
export async function askCaptureRequest(given: Partial<CaptureRequest>, available: AvailableBackends): Promise<CaptureRequest | undefined> {
  const settings = readSettings();
  const trusted = vscode.workspace.isTrusted;
  let backend = given.backend;
  if (backend === undefined) {
    const items: BackendItem[] = (['sim', 'lab', 'tap', 'afpacket', 'pcap'] as BackendName[]).map((b) => {
      const notes: string[] = [];
      if (b === settings.defaultBackend) notes.push('default');
      if (!backendAllowed(b, trusted)) notes.push('needs a trusted workspace');
      if (available !== undefined && !available.includes(b)) notes.push('not in this engine yet');
      return { backend: b, label: BACKEND_INFO[b].label, description: notes.join(' · '), detail: BACKEND_INFO[b].detail };
    });
    items.sort((a, b) => (a.backend === settings.defaultBackend ? -1 : b.backend === settings.defaultBackend ? 1 : 0));
    const pick = await vscode.window.showQuickPick(items, { title: 'Start Capture (1/4): backend', placeHolder: 'Where the packets come from', ignoreFocusOut: true });
    if (pick === undefined) return undefined;
    backend = pick.backend;
  }
  if (!backendAllowed(backend, trusted)) {
    // The controller refuses it too; say so before asking more.
    return { backend };
  }
  let { scenario, device, file } = given;
  if ((backend === 'sim' || backend === 'lab') && scenario === undefined) {
    const items = SCENARIOS.map((s) => ({ label: s.name, description: s.name === settings.defaultScenario ? 'default' : '', detail: s.description }));
    items.sort((a, b) => (a.label === settings.defaultScenario ? -1 : b.label === settings.defaultScenario ? 1 : 0));
    const pick = await vscode.window.showQuickPick(items, { title: 'Start Capture (2/4): scenario', placeHolder: 'The traffic to run on both stacks', ignoreFocusOut: true });
    if (pick === undefined) return undefined;
    scenario = pick.label;
  }
  if ((backend === 'tap' || backend === 'afpacket') && device === undefined) {
    const names = Object.keys(networkInterfaces()).filter((n) => n !== 'lo');
    const items: vscode.QuickPickItem[] = [...names.map((n) => ({ label: n })), { label: 'Another device…', description: 'type its name' }];
    const pick = await vscode.window.showQuickPick(items, { title: 'Start Capture (2/4): device', placeHolder: backend === 'tap' ? 'The TAP device to attach to' : 'The interface to watch', ignoreFocusOut: true });
    if (pick === undefined) return undefined;
    device = pick.label === 'Another device…' ? await vscode.window.showInputBox({ title: 'Device name', prompt: 'e.g. tap0', ignoreFocusOut: true, validateInput: (v) => (/^[\w.:-]{1,15}$/.test(v) ? undefined : 'a device name: up to 15 letters, digits, . : _ -') }) : pick.label;
    if (device === undefined) return undefined;
  }
  if (backend === 'pcap' && file === undefined) {
    const uri = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Replay', title: 'Replay Capture File', filters: { 'Packet captures': ['pcap', 'pcapng', 'cap'], 'All files': ['*'] } });
    if (uri === undefined || uri.length === 0) return undefined;
    file = uri[0].fsPath;
  }
  let rulesUri = given.rulesUri;
  if (!('rulesUri' in given)) {
    const picked = await askRulesFile(settings.defaultRulesFile);
    if (picked === null) return undefined;
    rulesUri = picked;
  }
  let impairment = given.impairment;
  if (impairment === undefined && given.impairments === undefined && backend !== 'pcap') {
    const pick = await vscode.window.showQuickPick(
      IMPAIRMENT_PRESETS.map((p) => ({ label: p.label, detail: p.detail, id: p.id })),
      { title: 'Start Capture (4/4): impairments on the wire', placeHolder: 'Loss, delay, reordering… applied on the wire side of the NIC', ignoreFocusOut: true },
    );
    if (pick === undefined) return undefined;
    impairment = pick.id;
  }
  return { ...given, backend, scenario, device, file, rulesUri, impairment };
}

/** The workspace's .bypass files, the built-in example rules, or another file: a URI string, undefined (built-in) or null (cancelled). */
async function askRulesFile(defaultFile: string): Promise<string | undefined | null> {
  const found = await vscode.workspace.findFiles('**/*.bypass', '**/node_modules/**', 50);
  type RulesItem = vscode.QuickPickItem & { uri?: string; browse?: boolean };
  const items: RulesItem[] = found
    .sort((a, b) => a.fsPath.localeCompare(b.fsPath))
    .map((u) => ({ label: vscode.workspace.asRelativePath(u), description: defaultFile && u.fsPath.endsWith(defaultFile) ? 'default' : '', uri: u.toString() }));
  items.sort((a, b) => (a.description === 'default' ? -1 : b.description === 'default' ? 1 : 0));
  items.push({ label: 'Built-in example rules', description: 'the extension\'s examples/routing.bypass', uri: undefined });
  items.push({ label: 'Another file…', browse: true });
  const pick = await vscode.window.showQuickPick(items, { title: 'Start Capture (3/4): routing rules', placeHolder: 'Which .bypass file steers the packets', ignoreFocusOut: true });
  if (pick === undefined) return null;
  if (pick.browse) {
    const uri = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use these rules', filters: { 'Routing rules': ['bypass'], 'All files': ['*'] } });
    return uri?.[0]?.toString() ?? null;
  }
  return pick.uri;
}

