// tcp: exhaustiveness helper for switches over tagged unions.

export function assertNever(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}
