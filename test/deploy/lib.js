'use strict';
// Shared helpers of the deployment checks: TAP-like reporting (the runner
// counts the "ok"/"not ok" lines) and the lists DESIGN.md §2 defines.

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');

let failed = 0;

// Report one check; details explain a failure and are printed indented.
function check(name, problems) {
	const list = (problems || []).filter(Boolean);
	if (list.length === 0) {
		console.log(`ok - ${name}`);
	} else {
		failed++;
		console.log(`not ok - ${name}`);
		for (const p of list) console.log(`    ${p}`);
	}
}

function exitCode() {
	return failed ? 1 : 0;
}

// Text of DESIGN.md §2 (the bridge section), where the environment variables
// and metric names are defined.
function designBridgeSection() {
	const text = fs.readFileSync(path.join(ROOT, 'DESIGN.md'), 'utf8');
	const start = text.indexOf('\n## 2.');
	if (start < 0) throw new Error('DESIGN.md has no "## 2." section');
	const end = text.indexOf('\n## ', start + 5);
	return text.slice(start, end < 0 ? undefined : end);
}

// The bridge's environment variables: every `AGENTIDP_*` named in the
// paragraph of §2 that starts with "Environment".
function designEnvVars() {
	const sec = designBridgeSection();
	const para = sec.split(/\n\s*\n/).find((p) => /^Environment\b/.test(p.trim()));
	if (!para) throw new Error('DESIGN.md §2 has no "Environment" paragraph');
	return [...new Set([...para.matchAll(/`(AGENTIDP_[A-Z0-9_]+)`/g)].map((m) => m[1]))];
}

// The bridge's metrics from the "Metrics:" paragraph of §2: name -> {type,
// labels}. The type is "histogram" when the text says so (then _bucket, _sum
// and _count series exist); labels are those listed in braces.
function designMetrics() {
	const sec = designBridgeSection();
	const para = sec.split(/\n\s*\n/).find((p) => /^Metrics:/.test(p.trim()));
	if (!para) throw new Error('DESIGN.md §2 has no "Metrics:" paragraph');
	const out = new Map();
	for (const m of para.matchAll(/`([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}`]*\})?`(\s*\(histogram\))?/g)) {
		const labels = m[2] ? m[2].slice(1, -1).split(',').map((l) => l.trim()).filter(Boolean) : [];
		out.set(m[1], { type: m[3] ? 'histogram' : 'untyped', labels });
	}
	return out;
}

module.exports = { ROOT, check, exitCode, designEnvVars, designMetrics };
