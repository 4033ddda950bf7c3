// rules: writes syntaxes/bypass.tmLanguage.json from grammar.ts (`npx tsx extension/rules/write-grammar.ts`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGrammar } from './grammar';

const out = join(__dirname, '..', '..', 'syntaxes', 'bypass.tmLanguage.json');
writeFileSync(out, `${JSON.stringify(buildGrammar(), null, 2)}\n`);
console.log(`wrote ${out}`);
