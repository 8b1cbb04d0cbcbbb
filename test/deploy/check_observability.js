'use strict';
// Checks that the Grafana dashboard and the Prometheus alert rules name only
// metrics (and labels) the bridge exports, and that they cover what issue 7
// asks for.
//
// Usage: node check_observability.js [--metrics-from URL|FILE]
//   default      the "Metrics:" paragraph of DESIGN.md §2
//   FILE         a Prometheus text exposition (e.g. a saved /metrics) or a
//                plain list, one "name [type]" per line (type: histogram...)
//   URL          a live /metrics (http:// or https://)

const fs = require('fs');
const path = require('path');
const YAML = require('yaml');
const { ROOT, check, exitCode, designMetrics } = require('./lib.js');

const DASHBOARD = path.join(ROOT, 'deploy/grafana/agentidp.json');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yml');
const DATASOURCES = path.join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml');

// Series Prometheus writes itself for every target.
const SYNTHETIC = new Map([['up', { type: 'gauge', labels: [] }]]);
// Labels Prometheus attaches at scrape time.
const TARGET_LABELS = ['instance', 'job'];

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring',
	'group_left', 'group_right', 'inf', 'nan', 'atan2', 'start', 'end']);

// Parse a Prometheus text exposition into name -> {type, labels}.
function parseExposition(text) {
	const out = new Map();
	const types = new Map();
	for (const line of text.split('\n')) {
		const t = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/);
		if (t) {
			types.set(t[1], t[2]);
			if (!out.has(t[1])) out.set(t[1], { type: t[2], labels: [] });
			continue;
		}
		if (!line.trim() || line.startsWith('#')) continue;
		const s = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s/);
		if (!s) continue;
		let name = s[1];
		for (const suffix of ['_bucket', '_sum', '_count']) {
			const base = name.slice(0, -suffix.length);
			if (name.endsWith(suffix) && types.get(base) === 'histogram') name = base;
		}
		const entry = out.get(name) || { type: types.get(name) || 'untyped', labels: [] };
		for (const m of (s[3] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=/g)) {
			if (m[1] !== 'le' && !entry.labels.includes(m[1])) entry.labels.push(m[1]);
		}
		out.set(name, entry);
	}
	return out;
}

async function loadMetrics(source) {
	if (!source) return { from: 'DESIGN.md §2', metrics: designMetrics(), labelsKnown: true };
	let text;
	if (/^https?:\/\//.test(source)) {
		const res = await fetch(source);
		if (!res.ok) throw new Error(`${source}: HTTP ${res.status}`);
		text = await res.text();
	} else {
		text = fs.readFileSync(source, 'utf8');
	}
	if (/^# (TYPE|HELP) /m.test(text) || /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?[ \t]+[-+]?(\d|\.\d|Inf|NaN)/m.test(text)) {
		return { from: source, metrics: parseExposition(text), labelsKnown: true };
	}
	const metrics = new Map();
	// Plain list: "name [type]" a line, so a histogram's series are known.
	for (const l of text.split('\n').map((x) => x.trim()).filter((x) => x && !x.startsWith('#'))) {
		const [name, type] = l.split(/\s+/);
		metrics.set(name, { type: type || 'untyped', labels: [] });
	}
	return { from: source, metrics, labelsKnown: false };
}

// Every series name a metric family exposes.
function seriesNames(metrics) {
	const out = new Map();
	for (const [name, info] of [...metrics, ...SYNTHETIC]) {
		out.set(name, name);
		if (info.type === 'histogram' || info.type === 'summary') {
			for (const s of ['_sum', '_count']) out.set(name + s, name);
			if (info.type === 'histogram') out.set(`${name}_bucket`, name);
		}
	}
	return out;
}

// Metric names and label names a PromQL expression uses. Grafana's
// label_values(metric, label) is reduced to its metric first.
function promqlNames(expr) {
	let e = expr.replace(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)/g, '$1');
	e = e.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
	e = e.replace(/\[[^\]]*\]/g, ' ');
	const selectors = []; // [metric or null, [label names]]
	e = e.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (all, metric, inner) => {
		const labels = [...inner.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1]);
		selectors.push([metric || null, labels]);
		return metric ? ` ${metric} ` : ' ';
	});
	const grouping = [];
	e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (all, kw, inner) => {
		if (kw === 'by' || kw === 'without' || kw === 'on' || kw === 'ignoring') {
			grouping.push(...inner.split(',').map((x) => x.trim()).filter(Boolean));
		}
		return ' ';
	});
	const metrics = new Set(selectors.filter(([m]) => m).map(([m]) => m));
	for (const m of e.matchAll(/(?<![a-zA-Z0-9_:$.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
		// A name followed by "(" is a function or an aggregation.
		if (/^\s*\(/.test(e.slice(m.index + m[0].length)) || KEYWORDS.has(m[0].toLowerCase())) continue;
		metrics.add(m[0]);
	}
	return { metrics: [...metrics], selectors, grouping };
}

// Problems of one expression against the exported metrics.
function exprProblems(where, expr, series, metrics, labelsKnown) {
	const problems = [];
	const { metrics: used, selectors, grouping } = promqlNames(expr);
	if (used.length === 0) problems.push(`${where}: names no metric`);
	const families = new Set();
	for (const m of used) {
		if (!series.has(m)) problems.push(`${where}: ${m} is not exported by the bridge`);
		else families.add(series.get(m));
	}
	if (!labelsKnown) return problems;
	const allowedFor = (family, series_) => {
		const info = metrics.get(family) || SYNTHETIC.get(family);
		const l = new Set([...(info ? info.labels : []), ...TARGET_LABELS]);
		if (series_ && series_.endsWith('_bucket')) l.add('le');
		return l;
	};
	for (const [m, labels] of selectors) {
		if (!m || !series.has(m)) continue;
		const allowed = allowedFor(series.get(m), m);
		for (const l of labels) if (!allowed.has(l)) problems.push(`${where}: ${m} has no label "${l}"`);
	}
	const any = new Set(TARGET_LABELS);
	for (const f of families) for (const l of allowedFor(f, used.find((u) => u.endsWith('_bucket') && series.get(u) === f))) any.add(l);
	for (const l of grouping) if (!any.has(l)) problems.push(`${where}: groups by "${l}", a label none of its metrics has`);
	return problems;
}

// Every panel of a dashboard, rows' nested panels included.
function allPanels(list) {
	const out = [];
	for (const p of list || []) {
		out.push(p);
		if (Array.isArray(p.panels)) out.push(...allPanels(p.panels));
	}
	return out;
}

async function main() {
	const i = process.argv.indexOf('--metrics-from');
	const source = i > 0 ? process.argv[i + 1] : process.env.AGENTIDP_METRICS_FROM || '';
	if (i > 0 && !source) throw new Error('--metrics-from needs a URL or a file');
	let loaded;
	try {
		loaded = await loadMetrics(source);
		check(`metrics: ${loaded.metrics.size} metric families read from ${loaded.from}`, loaded.metrics.size ? [] : ['no metric found']);
	} catch (e) {
		const cause = e.cause ? ` (${e.cause.code || e.cause.message || e.cause})` : '';
		check(`metrics: read the exported metric list from ${source}`, [`${e.message || e}${cause}`]);
		process.exitCode = exitCode();
		return;
	}
	const { metrics, labelsKnown } = loaded;
	const series = seriesNames(metrics);

	// Grafana dashboard.
	let dash = null;
	try {
		dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
		check('grafana: deploy/grafana/agentidp.json parses', []);
	} catch (e) {
		check('grafana: deploy/grafana/agentidp.json parses', [String(e.message || e)]);
	}
	if (dash) {
		const panels = allPanels(dash.panels);
		const shape = [];
		if (!dash.uid || !dash.title) shape.push('dashboard needs uid and title');
		const ids = new Set();
		const dsUids = new Set();
		for (const p of panels) {
			if (ids.has(p.id)) shape.push(`panel id ${p.id} repeated`);
			ids.add(p.id);
			if (!p.gridPos) shape.push(`panel "${p.title}" has no gridPos`);
			if (p.type !== 'row' && !(p.targets || []).length) shape.push(`panel "${p.title}" has no query`);
			if (p.datasource && p.datasource.uid) dsUids.add(p.datasource.uid);
			for (const t of p.targets || []) if (t.datasource && t.datasource.uid) dsUids.add(t.datasource.uid);
		}
		const prov = YAML.parse(fs.readFileSync(DATASOURCES, 'utf8'));
		const provided = new Set((prov.datasources || []).map((d) => d.uid));
		for (const u of dsUids) if (!provided.has(u)) shape.push(`datasource uid "${u}" is not provisioned in ${path.relative(ROOT, DATASOURCES)}`);
		check(`grafana: ${panels.length} panels well formed, datasource provisioned`, shape);

		const problems = [];
		const usedByDash = new Set();
		const exprs = [];
		for (const p of panels) for (const t of p.targets || []) if (t.expr) exprs.push([`panel "${p.title}"`, t.expr]);
		for (const v of (dash.templating && dash.templating.list) || []) {
			const q = typeof v.query === 'string' ? v.query : v.query && v.query.query;
			if (v.type === 'query' && q) exprs.push([`variable $${v.name}`, q]);
		}
		for (const [where, e] of exprs) {
			problems.push(...exprProblems(where, e, series, metrics, labelsKnown));
			for (const m of promqlNames(e).metrics) usedByDash.add(m);
		}
		check(`grafana: ${exprs.length} queries name only exported metrics${labelsKnown ? ' and labels' : ''}`, problems);

		// What issue 7 asks the dashboard to show.
		const wanted = {
			'token rate': ['agentidp_tokens_issued_total'],
			'token errors': ['agentidp_tokens_refused_total'],
			'error rate': ['agentidp_http_requests_total'],
			'latency percentiles': ['agentidp_http_request_duration_seconds_bucket'],
			'introspection rate': ['agentidp_introspections_total'],
			'revocation-cache hit ratio': ['agentidp_revocation_cache_hits_total', 'agentidp_revocation_cache_misses_total'],
			'DB pool': ['agentidp_db_pool_in_use', 'agentidp_db_pool_size'],
			'rate-limit hits': ['agentidp_rate_limited_total'],
		};
		const missing = [];
		for (const [what, names] of Object.entries(wanted)) {
			for (const n of names) if (!usedByDash.has(n)) missing.push(`no panel for ${what} (${n})`);
		}
		if (!exprs.some(([, e]) => /histogram_quantile\(\s*0\.99/.test(e))) missing.push('no p99 latency panel');
		check('grafana: panels cover tokens, errors, latency, introspection, cache, DB pool, rate limits', missing);
	}

	// Alert rules.
	let rules = [];
	try {
		const doc = YAML.parse(fs.readFileSync(ALERTS, 'utf8'));
		rules = (doc.groups || []).flatMap((g) => g.rules || []);
		check(`alerts: deploy/prometheus/alerts.yml has ${rules.length} rules`, rules.length ? [] : ['no rules']);
	} catch (e) {
		check('alerts: deploy/prometheus/alerts.yml parses', [String(e.message || e)]);
	}
	const problems = [];
	const alertMetrics = new Set();
	for (const r of rules) {
		const where = `alert ${r.alert || r.record}`;
		problems.push(...exprProblems(where, String(r.expr || ''), series, metrics, labelsKnown));
		for (const m of promqlNames(String(r.expr || '')).metrics) alertMetrics.add(m);
		if (r.alert && !(r.labels && r.labels.severity)) problems.push(`${where}: no severity label`);
		if (r.alert && !(r.annotations && r.annotations.summary && r.annotations.description)) problems.push(`${where}: needs summary and description`);
	}
	check(`alerts: ${rules.length} rule expressions name only exported metrics${labelsKnown ? ' and labels' : ''}`, problems);

	const coverage = [];
	const need = {
		'error rate': (r) => /agentidp_http_requests_total\{[^}]*status="5xx"/.test(r.expr),
		'p99 latency': (r) => /histogram_quantile\(\s*0\.99/.test(r.expr),
		'Redis down': (r) => /agentidp_redis_up\s*==\s*0/.test(r.expr),
		'DB down': (r) => /agentidp_db_up\s*==\s*0/.test(r.expr),
		'quota exhaustion': (r) => /agentidp_tokens_refused_total\{[^}]*reason="quota_exceeded"/.test(r.expr),
	};
	for (const [what, test] of Object.entries(need)) {
		if (!rules.some((r) => r.alert && test({ expr: String(r.expr) }))) coverage.push(`no alert for ${what}`);
	}
	check('alerts: cover error rate, p99 latency, Redis down, DB down, quota exhaustion', coverage);
	process.exitCode = exitCode();
}

if (require.main === module) {
	main().catch((e) => {
		console.log(`not ok - observability checks crashed: ${e.stack || e}`);
		process.exitCode = 1;
	});
}

module.exports = { promqlNames, parseExposition };
