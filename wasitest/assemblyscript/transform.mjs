/**
 * wasitest's AssemblyScript compiler transform: gives each check its place in the source.
 *
 * AssemblyScript has no __FILE__ or __LINE__, so after parsing, every call of `check`,
 * `checkEqual` or `fail` imported from "wasitest" (by name, renamed, or through
 * `import * as w`) gets two more string arguments: where it is (`tests/math.ts:12`, the
 * path as the compiler names the file) and the source text of what it checks (`add(2, 2)`,
 * or `add(2, 2) == 5` for checkEqual). Missing optional arguments before them are filled
 * with "". A call that already passes them is left alone.
 *
 * It imports the compiler ("assemblyscript"), so it must sit where that resolves: wasitest
 * copies it next to the node_modules folder of its own AssemblyScript install.
 */
import { Node, NodeKind, SourceKind } from "assemblyscript";

const HELPER = "wasitest";

/** How many arguments a caller may write before the ones this transform adds. */
const LOCATED = new Map([
  ["check", { written: 2, expr: (args) => text(args[0]) }],
  ["checkEqual", { written: 3, expr: (args) => `${text(args[0])} == ${text(args[1])}` }],
  ["fail", { written: 1, expr: null }],
]);

function text(node) {
  return node.range.toString().replace(/\s+/g, " ").trim();
}

/** The helper's names as this file sees them: local name -> helper name, and namespaces. */
function helperNames(source) {
  const names = new Map();
  const namespaces = new Set();
  for (const statement of source.statements) {
    if (statement.kind !== NodeKind.Import || statement.path.value !== HELPER) continue;
    if (statement.namespaceName) namespaces.add(statement.namespaceName.text);
    for (const decl of statement.declarations || []) names.set(decl.name.text, decl.foreignName.text);
  }
  return { names, namespaces };
}

function calledHelper(call, scope) {
  const callee = call.expression;
  if (callee.kind === NodeKind.Identifier) return scope.names.get(callee.text) ?? null;
  if (
    callee.kind === NodeKind.PropertyAccess &&
    callee.expression.kind === NodeKind.Identifier &&
    scope.namespaces.has(callee.expression.text)
  ) {
    return callee.property.text;
  }
  return null;
}

/** Every AST node under `root`: the walk follows child nodes and arrays, never ranges. */
function* nodes(root) {
  const stack = [root];
  const seen = new Set();
  while (stack.length) {
    const node = stack.pop();
    if (seen.has(node)) continue;
    seen.add(node);
    yield node;
    for (const [key, value] of Object.entries(node)) {
      if (key === "range" || value === null || typeof value !== "object") continue;
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === "object" && typeof child.kind === "number" && child.range) stack.push(child);
      }
    }
  }
}

function locate(source, scope) {
  for (const node of nodes(source)) {
    if (node.kind !== NodeKind.Call) continue;
    const spec = LOCATED.get(calledHelper(node, scope));
    if (!spec || node.args.length > spec.written) continue;
    const range = node.range;
    const literal = (value) => Node.createStringLiteralExpression(value, range);
    const expr = spec.expr && node.args.length >= spec.written - 1 ? spec.expr(node.args) : "";
    while (node.args.length < spec.written) node.args.push(literal(""));
    node.args.push(literal(`${source.normalizedPath}:${source.lineAt(range.start)}`));
    if (spec.expr) node.args.push(literal(expr));
  }
}

export default class WasitestLocations {
  afterParse(parser) {
    for (const source of parser.sources) {
      if (source.sourceKind !== SourceKind.User && source.sourceKind !== SourceKind.UserEntry) continue;
      const scope = helperNames(source);
      if (scope.names.size || scope.namespaces.size) locate(source, scope);
    }
  }
}
