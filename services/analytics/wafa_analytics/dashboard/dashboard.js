/* Wafa loyalty dashboard: reads the public analytics API with the caller's bearer token and draws
 * it with Apache ECharts. The token comes from the URL fragment (#token=..., never sent to a
 * server) or the paste box, and lives in sessionStorage. No data is kept anywhere else. */
"use strict";

(function () {
  const I18N = window.WAFA_I18N;
  const TOKEN_KEY = "wafa.dashboard.token";
  const LANG_KEY = "wafa.dashboard.lang";
  const TASK_CHANNELS = ["phone", "letter", "card"];
  const SEGMENTS = ["Champions", "Loyal", "New", "Potential loyalists", "Cannot lose them", "At risk", "Hibernating", "Lost"];
  const PALETTE = ["#0f7b6c", "#3b6fb6", "#d08c2e", "#a7465b", "#6b5ca5", "#4e9a3d", "#c2562b", "#2c8fa3", "#8a6d3b"];

  const state = { lang: "en", token: null, filters: {}, data: {}, errors: {}, generation: 0 };
  const charts = {};
  const dash = (window.wafaDashboard = { state, charts, ready: false, loads: 0 });

  // ---- texts and formats ---------------------------------------------------------------------
  const dict = () => I18N[state.lang];
  function t(key, vars) {
    let s = dict()[key];
    if (s === undefined) s = I18N.en[key] !== undefined ? I18N.en[key] : key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
    return s;
  }
  function named(group, key) {
    const look = (d) => d[group] && (d[group][key] || d[group][String(key).toLowerCase()]);
    return look(dict()) || look(I18N.en) || key;
  }
  const locale = () => dict().locale;
  const rtl = () => dict().dir === "rtl";
  const num = (v, digits = 0) => (v === null || v === undefined ? "—" : new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(Number(v)));
  const pct = (v, digits = 1) =>
    v === null || v === undefined ? "—" : new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: digits }).format(Number(v) / 100);
  const money = (v, currency) =>
    v === null || v === undefined ? "—" : new Intl.NumberFormat(locale(), { style: "currency", currency, maximumFractionDigits: 0 }).format(Number(v));
  const utc = (iso) => new Date(iso.length <= 7 ? iso + "-01T00:00:00Z" : iso.length === 10 ? iso + "T00:00:00Z" : iso);
  const monthLabel = (iso) => new Intl.DateTimeFormat(locale(), { month: "short", year: "numeric", timeZone: "UTC" }).format(utc(iso));
  const dayLabel = (iso) => new Intl.DateTimeFormat(locale(), { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" }).format(utc(iso));
  const dateLabel = (iso) => new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(utc(iso));
  const timeLabel = (d) => new Intl.DateTimeFormat(locale(), { timeStyle: "short" }).format(d);

  // ---- token -----------------------------------------------------------------------------------
  function readToken() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search); // keep it out of the address bar and history
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }
  function signedOut(message) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    document.body.dataset.state = "signed-out";
    document.getElementById("token-panel").hidden = false;
    if (message) setStatus(message, true);
  }

  // ---- API -------------------------------------------------------------------------------------
  class ApiError extends Error {}
  async function get(path, params) {
    const url = new URL(path.replace(/^\//, ""), document.baseURI); // relative: works behind a path prefix (ingress /analytics/...)
    for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    const token = state.token;
    const r = await fetch(url, { headers: { Authorization: "Bearer " + token, Accept: "application/json" } });
    if (r.status === 401) {
      if (state.token === token) signedOut(); // a late answer to a replaced token must not sign the new one out
      throw new ApiError("401");
    }
    if (!r.ok) {
      let detail = r.statusText;
      try {
        detail = (await r.json()).detail || detail;
      } catch (_) {
        /* not problem+json */
      }
      throw new ApiError(r.status + " " + path + ": " + detail);
    }
    return r.json();
  }

  // ---- filters ---------------------------------------------------------------------------------
  const iso = (d) => d.toISOString().slice(0, 10);
  function presetRange(preset) {
    const today = new Date();
    const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
    const from = new Date(to);
    if (preset === "30d") from.setUTCDate(from.getUTCDate() - 29);
    else if (preset === "90d") from.setUTCDate(from.getUTCDate() - 89);
    else if (preset === "ytd") from.setUTCMonth(0, 1);
    else {
      from.setUTCFullYear(from.getUTCFullYear() - 1);
      from.setUTCDate(from.getUTCDate() + 1);
    }
    return [iso(from), iso(to)];
  }
  function readFilters() {
    const f = {
      from: document.getElementById("f-from").value,
      to: document.getElementById("f-to").value,
      tier: document.getElementById("f-tier").value || null,
      segment: document.getElementById("f-segment").value || null,
    };
    const days = (utc(f.to) - utc(f.from)) / 86400000 + 1;
    f.bucket = days > 120 ? "month" : "week";
    const end = new Date(utc(f.to).getTime() + 86400000);
    f.asOf = end < new Date() ? end.toISOString() : null; // RFM as of the period's end (or now)
    return f;
  }
  function fillSegmentOptions() {
    const select = document.getElementById("f-segment");
    const current = select.value;
    select.replaceChildren(new Option(t("filter.all"), ""));
    for (const s of SEGMENTS) select.add(new Option(named("segments", s), s));
    select.value = current;
  }
  function fillTierOptions(tiers) {
    const select = document.getElementById("f-tier");
    const current = select.value;
    select.replaceChildren(new Option(t("filter.all"), ""));
    for (const name of tiers) select.add(new Option(named("tiers", name), name));
    select.value = current;
  }

  // ---- views: what each reads and how it draws -------------------------------------------------
  const VIEWS = {
    kpis: (f) =>
      Promise.all([
        get("/v1/kpis", { from: f.from, to: f.to, segment: f.tier, rfm_segment: f.segment }),
        get("/v1/goals", { limit: 500 }),
        get("/v1/points/liability", { from: f.from, to: f.to, tier: f.tier, rfm_segment: f.segment }),
      ]),
    trend: (f) => get("/v1/satisfaction/trend", { from: f.from, to: f.to, tier: f.tier, rfm_segment: f.segment, bucket: f.bucket }),
    cohorts: (f) => get("/v1/cohorts", { from: f.from, to: f.to }),
    whale: (f) => get("/v1/profitability/whale-curve", { from: f.from, to: f.to, points: 101 }),
    rfm: (f) => get("/v1/rfm/grid", { tier: f.tier, as_of: f.asOf }),
    tiers: (f) => get("/v1/tiers/distribution", { from: f.from, to: f.to }),
    plans: (f) => get("/v1/plans/effectiveness", { from: f.from, to: f.to }),
    liability: () => Promise.resolve(null), // drawn from the kpis answer
    touches: (f) => get("/v1/touches/upcoming", { days: 7, tier: f.tier, rfm_segment: f.segment }),
    tasks: (f) => get("/v1/tasks/overdue", { limit: 8, tier: f.tier, rfm_segment: f.segment }),
    health: () => get("/v1/platform/health"),
  };

  function base(extra) {
    return Object.assign(
      {
        animation: false,
        color: PALETTE,
        textStyle: { fontFamily: getComputedStyle(document.documentElement).fontFamily },
        tooltip: { trigger: "axis", confine: true },
        grid: { left: 16, right: 16, top: 36, bottom: 8, containLabel: true },
        legend: { type: "scroll", top: 0, [rtl() ? "right" : "left"]: 0, [rtl() ? "left" : "right"]: 0 },
      },
      extra,
    );
  }
  const catX = (data, extra) => Object.assign({ type: "category", data, inverse: rtl() }, extra);
  const valY = (extra) => Object.assign({ type: "value", position: rtl() ? "right" : "left" }, extra);

  const RENDER = {
    trend(d) {
      const points = d.points.filter((p) => p.nps !== null || p.csi !== null);
      if (!points.length) return null;
      const label = d.bucket === "month" ? monthLabel : dateLabel;
      return base({
        tooltip: { trigger: "axis", confine: true, valueFormatter: (v) => num(v, 1) },
        xAxis: catX(points.map((p) => label(p.start))),
        yAxis: [valY({ min: -100, max: 100, axisLabel: { formatter: (v) => num(v) } }), valY({ position: rtl() ? "left" : "right", scale: true, axisLabel: { formatter: (v) => num(v, 1) }, splitLine: { show: false } })],
        series: [
          { name: t("nps"), type: "line", smooth: true, data: points.map((p) => (p.nps === null ? null : Number(p.nps))) },
          { name: t("csi"), type: "line", smooth: true, yAxisIndex: 1, data: points.map((p) => (p.csi === null ? null : Number(p.csi))) },
        ],
      });
    },
    cohorts(d) {
      const rows = d.cohorts.filter((c) => c.size > 0);
      if (!rows.length) return null;
      const ages = Math.max(...rows.map((c) => c.retention.length));
      const data = [];
      rows.forEach((c, y) => c.retention.forEach((v, x) => data.push([x, y, v === null ? null : Number(v)])));
      return base({
        legend: undefined,
        tooltip: { trigger: "item", confine: true, formatter: (p) => `${monthLabel(rows[p.value[1]].cohort)} · +${num(p.value[0])}<br>${t("retention")}: ${pct(p.value[2])} (${t("customers")}: ${num(rows[p.value[1]].active[p.value[0]])}/${num(rows[p.value[1]].size)})` },
        grid: { left: 16, right: 16, top: 8, bottom: 56, containLabel: true },
        xAxis: catX(Array.from({ length: ages }, (_, i) => num(i)), { name: t("months_since"), nameLocation: "middle", nameGap: 24, splitArea: { show: true } }),
        yAxis: { type: "category", data: rows.map((c) => `${monthLabel(c.cohort)} (${num(c.size)})`), inverse: true, position: rtl() ? "right" : "left", splitArea: { show: true } },
        visualMap: { min: 0, max: 100, calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, inRange: { color: ["#f7fbff", "#9ecae1", "#0f7b6c"] }, formatter: (v) => pct(v, 0) },
        series: [{ name: t("retention"), type: "heatmap", data, label: { show: ages <= 13, formatter: (p) => (p.value[2] === null ? "" : num(p.value[2], 0)), fontSize: 10 } }],
      });
    },
    whale(d) {
      if (!d.points.length) return null;
      return base({
        legend: undefined,
        tooltip: { trigger: "axis", confine: true, valueFormatter: (v) => pct(v) },
        xAxis: { type: "value", min: 0, max: 100, inverse: rtl(), name: t("customers_pct"), nameLocation: "middle", nameGap: 26, axisLabel: { formatter: (v) => pct(v, 0) } },
        yAxis: valY({ name: t("cumulative_profit"), axisLabel: { formatter: (v) => pct(v, 0) } }),
        grid: { left: 16, right: 24, top: 36, bottom: 30, containLabel: true },
        series: [
          {
            name: t("cumulative_profit"),
            type: "line",
            showSymbol: false,
            areaStyle: { opacity: 0.15 },
            data: d.points.map((p) => [Number(p.customers_pct), p.cumulative_profit_pct === null ? null : Number(p.cumulative_profit_pct)]),
            markLine: { symbol: "none", silent: true, label: { position: "insideEndTop", formatter: () => pct(100, 0) }, data: [{ yAxis: 100 }] },
          },
        ],
      });
    },
    rfm(d) {
      if (!d.customers) return null;
      const sel = state.filters.segment;
      const data = d.cells.map((c) => ({ value: [c.f - 1, c.r - 1, c.customers], cell: c, itemStyle: sel && c.segment !== sel ? { opacity: 0.2 } : undefined }));
      return base({
        legend: undefined,
        tooltip: { trigger: "item", confine: true, formatter: (p) => `${named("segments", p.data.cell.segment)}<br>R ${num(p.data.cell.r)} · F ${num(p.data.cell.f)}<br>${t("customers")}: ${num(p.data.cell.customers)}<br>${t("mean_spend")}: ${money(p.data.cell.mean_monetary, d.currency)}` },
        grid: { left: 16, right: 16, top: 8, bottom: 56, containLabel: true },
        xAxis: catX(["1", "2", "3", "4", "5"].map((v) => num(v)), { name: t("frequency"), nameLocation: "middle", nameGap: 24, splitArea: { show: true } }),
        yAxis: { type: "category", data: ["1", "2", "3", "4", "5"].map((v) => num(v)), name: t("recency"), nameLocation: "middle", nameGap: 22, position: rtl() ? "right" : "left", splitArea: { show: true } },
        visualMap: { min: 0, max: Math.max(1, ...d.cells.map((c) => c.customers)), orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, inRange: { color: ["#fff7ec", "#fdbb84", "#b30000"] }, formatter: (v) => num(v) },
        series: [{ name: t("customers"), type: "heatmap", data, label: { show: true, formatter: (p) => num(p.data.cell.customers) } }],
      });
    },
    tiers(d) {
      const rows = d.tiers.filter((x) => x.customers > 0);
      if (!rows.length) return null;
      return base({
        tooltip: { trigger: "item", confine: true, formatter: (p) => `${p.name}<br>${t("customers")}: ${num(p.value)} (${pct(p.data.share)})<br>${t("buyers")}: ${num(p.data.buyers)}<br>${t("revenue")}: ${money(p.data.revenue, d.currency)}` },
        legend: { top: "middle", orient: "vertical", [rtl() ? "right" : "left"]: 0 },
        series: [
          {
            name: t("chart.tiers"),
            type: "pie",
            radius: ["40%", "72%"],
            center: [rtl() ? "40%" : "60%", "52%"],
            label: { formatter: (p) => `${p.name}\n${pct(p.data.share, 0)}` },
            data: rows.map((x) => ({ name: named("tiers", x.tier), value: x.customers, share: x.share, buyers: x.buyers, revenue: x.revenue })),
          },
        ],
      });
    },
    plans(d) {
      const plans = d.plans.filter((p) => p.treated + p.holdout > 0);
      if (!plans.length) return null;
      const rate = (v) => (v === null ? null : Number(v) * 100);
      return base({
        tooltip: {
          trigger: "axis",
          confine: true,
          formatter: (ps) => {
            const p = plans[ps[0].dataIndex];
            const r = p.retention;
            const ci = r.ci_low === null ? "" : ` [${pct(rate(r.ci_low))} … ${pct(rate(r.ci_high))}]`;
            return `${ps[0].name}<br>${t("treated")}: ${pct(rate(r.treated))} (${num(p.treated)})<br>${t("holdout")}: ${pct(rate(r.holdout))} (${num(p.holdout)})<br>${t("uplift")}: ${pct(rate(r.uplift))}${ci}`;
          },
        },
        xAxis: catX(plans.map((p) => (p.plan_key ? named("plans", p.plan_key) : p.plan_id.slice(0, 8))), { axisLabel: { interval: 0, overflow: "truncate", width: 90 } }),
        yAxis: valY({ max: 100, axisLabel: { formatter: (v) => pct(v, 0) } }),
        series: [
          { name: t("treated"), type: "bar", data: plans.map((p) => rate(p.retention.treated)) },
          { name: t("holdout"), type: "bar", data: plans.map((p) => rate(p.retention.holdout)) },
        ],
      });
    },
    liability(_, all) {
      const kp = all.kpis;
      if (!kp) return null;
      const l = kp[2];
      if (!l.months.length) return null;
      return base({
        tooltip: { trigger: "axis", confine: true, formatter: (ps) => `${ps[0].name}<br>${t("liability")}: ${money(l.months[ps[0].dataIndex].liability, l.currency)}<br>${t("outstanding")}: ${num(l.months[ps[0].dataIndex].outstanding_points)}` },
        xAxis: catX(l.months.map((m) => monthLabel(m.month))),
        yAxis: valY({ axisLabel: { formatter: (v) => money(v, l.currency) } }),
        series: [{ name: t("liability"), type: "bar", data: l.months.map((m) => Number(m.liability)) }],
      });
    },
    touches(d) {
      if (!d.total) return null;
      return base({
        tooltip: { trigger: "axis", confine: true, valueFormatter: (v) => num(v) },
        xAxis: catX(d.days.map(dayLabel)),
        yAxis: valY({ minInterval: 1, axisLabel: { formatter: (v) => num(v) } }),
        series: d.series.map((s) => ({ name: named("channels", s.channel), type: "bar", stack: "touches", data: s.touches })),
      });
    },
    tasks(d) {
      const channels = [...new Set([...TASK_CHANNELS, ...Object.keys(d.by_channel)])];
      renderTasksTable(d);
      return base({
        legend: undefined,
        tooltip: { trigger: "axis", confine: true, valueFormatter: (v) => num(v) },
        xAxis: catX(channels.map((c) => named("channels", c))),
        yAxis: valY({ minInterval: 1, axisLabel: { formatter: (v) => num(v) } }),
        series: [{ name: t("tasks.count"), type: "bar", barMaxWidth: 48, data: channels.map((c) => d.by_channel[c] || 0), itemStyle: { color: "#c0392b" } }],
      });
    },
    health(d) {
      renderHealthTable(d);
      const names = d.services.map((s) => named("services", s.service));
      const metric = (key) => d.services.map((s) => (s[key] === null || s[key] === undefined ? 0 : s[key]));
      return base({
        tooltip: { trigger: "axis", confine: true, valueFormatter: (v) => num(v) },
        xAxis: catX(names, { axisLabel: { interval: 0, width: 72, overflow: "break" } }),
        yAxis: valY({ minInterval: 1, axisLabel: { formatter: (v) => num(v) } }),
        series: [
          { name: t("health.lag"), type: "bar", data: metric("consumer_lag") },
          { name: t("health.backlog"), type: "bar", data: metric("outbox_backlog") },
          { name: t("health.dlq"), type: "bar", data: metric("dead_letters") },
          { name: t("health.webhooks"), type: "bar", data: d.services.map((s) => (s.webhooks_retrying || 0) + (s.webhooks_dead || 0)) },
        ],
      });
    },
  };

  // ---- KPI cards and tables ----------------------------------------------------------------------
  function goalFor(goals, kpi, f) {
    const mine = goals.filter((g) => g.kpi === kpi && (g.segment || null) === (f.tier || null) && g.period_from <= f.to && g.period_to >= f.from);
    mine.sort((a, b) => (a.period_to < b.period_to ? 1 : -1));
    return mine[0];
  }
  function renderKpis(answer) {
    const [k, goals, liability] = answer;
    const f = state.filters;
    const values = k.kpis;
    const show = {
      retention_rate: pct(values.retention_rate),
      churn_rate: pct(values.churn_rate),
      nps: num(values.nps, 1),
      csi: num(values.csi, 2),
      referral_rate: pct(values.referral_rate),
      points_liability: money(liability.liability, liability.currency),
    };
    for (const card of document.querySelectorAll(".kpi")) {
      const kpi = card.dataset.kpi;
      card.querySelector(".value").textContent = show[kpi];
      const box = card.querySelector(".goal");
      box.replaceChildren();
      const goal = goalFor(goals.items, kpi, f);
      if (kpi === "points_liability") {
        const points = document.createElement("div");
        points.textContent = t("liability.points", { points: num(liability.outstanding_points) });
        box.append(points);
        if (!goal || !goal.progress) continue;
      } else if (!goal || !goal.progress) {
        box.textContent = t("goal.none");
        continue;
      }
      const p = goal.progress;
      const progress = p.progress_pct === null ? 0 : Math.max(0, Math.min(100, Number(p.progress_pct)));
      const track = document.createElement("div");
      track.className = "track";
      const fill = document.createElement("div");
      fill.className = "fill" + (p.achieved ? " met" : progress < 50 ? " behind" : "");
      fill.style.inlineSize = (p.achieved ? 100 : progress) + "%";
      track.append(fill);
      const fmt = { nps: (v) => num(v, 1), csi: (v) => num(v, 2), points_liability: (v) => money(v, liability.currency) }[kpi] || ((v) => pct(v));
      const text = document.createElement("div");
      text.textContent = t("goal.target", { target: fmt(p.target_value) }) + " · " + (p.achieved ? t("goal.met") : t("goal.progress", { pct: pct(p.progress_pct, 0) }));
      text.title = goal.name; // names are free text, often in both languages
      box.prepend(track, text);
      card.dataset.goal = goal.id;
    }
  }
  function cell(text, cls) {
    const td = document.createElement("td");
    if (cls) {
      const dot = document.createElement("span");
      dot.className = "dot " + cls;
      td.append(dot);
    }
    td.append(text);
    return td;
  }
  function renderTasksTable(d) {
    const body = document.querySelector("#tasks-table tbody");
    body.replaceChildren(
      ...d.items.map((x) => {
        const tr = document.createElement("tr");
        tr.append(cell(x.assignee), cell(named("channels", x.channel)), cell(dateLabel(x.due_at)), cell(num(x.days_overdue)));
        return tr;
      }),
    );
  }
  function renderHealthTable(d) {
    const body = document.querySelector("#health-table tbody");
    body.replaceChildren(
      ...d.services.map((s) => {
        const tr = document.createElement("tr");
        const failing = (s.webhooks_retrying || 0) + (s.webhooks_dead || 0);
        const bad = !s.reachable || s.dead_letters > 0 || s.webhooks_dead > 0;
        const warn = s.consumer_lag > 1000 || s.outbox_backlog > 1000 || failing > 0;
        tr.append(
          cell(named("services", s.service) + (s.reachable ? "" : " (" + t("health.down") + ")"), bad ? "bad" : warn ? "warn" : "ok"),
          cell(num(s.consumer_lag)),
          cell(num(s.outbox_backlog)),
          cell(num(s.dead_letters)),
          cell(num(s.reachable ? failing : null)),
        );
        return tr;
      }),
    );
  }

  // ---- drawing ---------------------------------------------------------------------------------
  function box(name) {
    return document.querySelector(`[data-chart="${name}"]`).closest(".card");
  }
  function draw(name) {
    const card = box(name);
    const el = card.querySelector(".chart");
    const err = card.querySelector(".error");
    const empty = card.querySelector(".empty");
    err.hidden = true;
    empty.hidden = true;
    if (state.errors[name]) {
      err.textContent = state.errors[name];
      err.hidden = false;
      if (charts[name]) charts[name].clear();
      return;
    }
    const option = RENDER[name](state.data[name], state.data);
    if (!option) {
      empty.hidden = false;
      if (charts[name]) charts[name].clear();
      return;
    }
    if (!charts[name]) charts[name] = echarts.init(el, null, { renderer: "canvas" });
    charts[name].setOption(option, true);
  }
  function drawAll() {
    if (state.data.kpis) renderKpis(state.data.kpis);
    for (const name of Object.keys(RENDER)) {
      if (name in state.data || state.errors[name]) draw(name);
    }
  }
  function setStatus(text, bad) {
    const s = document.getElementById("status");
    s.textContent = text;
    s.classList.toggle("bad", !!bad);
  }

  async function load() {
    if (!state.token) return signedOut();
    const generation = ++state.generation;
    state.filters = readFilters();
    document.body.dataset.state = "loading";
    setStatus(t("loading"));
    const names = Object.keys(VIEWS);
    const answers = await Promise.allSettled(names.map((n) => VIEWS[n](state.filters)));
    if (generation !== state.generation || !state.token) return; // a newer load started, or signed out
    state.data = {};
    state.errors = {};
    answers.forEach((a, i) => {
      if (a.status === "fulfilled") state.data[names[i]] = a.value;
      else state.errors[names[i]] = a.reason && a.reason.message ? a.reason.message : String(a.reason);
    });
    if (state.errors.kpis) state.errors.liability = state.errors.kpis;
    if (state.data.tiers) fillTierOptions(state.data.tiers.tiers.map((x) => x.tier).filter((x) => x !== "none"));
    drawAll();
    const failed = Object.values(state.errors);
    setStatus(failed.length ? t("failed", { detail: failed[0] }) : t("loaded", { time: timeLabel(new Date()) }), failed.length > 0);
    dash.loads += 1;
    dash.ready = true;
    document.body.dataset.loads = String(dash.loads); // lets a test wait for "the n-th load finished" with a selector
    document.body.dataset.state = failed.length ? "partial" : "ready";
  }

  // ---- language --------------------------------------------------------------------------------
  function applyLanguage(lang) {
    state.lang = I18N[lang] ? lang : "en";
    localStorage.setItem(LANG_KEY, state.lang);
    const root = document.documentElement;
    root.lang = state.lang;
    root.dir = dict().dir;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    document.title = t("title");
    document.getElementById("lang").textContent = dict().switchTo;
    fillSegmentOptions();
    if (state.data.tiers) fillTierOptions(state.data.tiers.tiers.map((x) => x.tier).filter((x) => x !== "none"));
    drawAll();
    for (const c of Object.values(charts)) c.resize();
    if (dash.ready) setStatus(t("loaded", { time: timeLabel(new Date()) }));
  }

  // ---- wiring ----------------------------------------------------------------------------------
  function start() {
    const preset = document.getElementById("f-preset");
    const setPreset = () => {
      if (preset.value === "custom") return;
      const [from, to] = presetRange(preset.value);
      document.getElementById("f-from").value = from;
      document.getElementById("f-to").value = to;
    };
    setPreset();
    preset.addEventListener("change", () => {
      setPreset();
      load();
    });
    for (const id of ["f-from", "f-to"]) document.getElementById(id).addEventListener("change", () => (preset.value = "custom"));
    for (const id of ["f-tier", "f-segment"]) document.getElementById(id).addEventListener("change", () => load());
    document.getElementById("filters").addEventListener("submit", (e) => {
      e.preventDefault();
      load();
    });
    document.getElementById("lang").addEventListener("click", () => applyLanguage(state.lang === "en" ? "ar" : "en"));
    document.getElementById("forget").addEventListener("click", () => signedOut());
    document.getElementById("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const value = document.getElementById("token-input").value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      state.token = value;
      document.getElementById("token-input").value = "";
      document.getElementById("token-panel").hidden = true;
      load();
    });
    window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
    window.addEventListener("hashchange", () => {
      const token = readToken();
      if (token && token !== state.token) {
        state.token = token;
        document.getElementById("token-panel").hidden = true;
        load();
      }
    });
    dash.setLanguage = applyLanguage;
    dash.reload = load;
    applyLanguage(localStorage.getItem(LANG_KEY) || (navigator.language || "en").slice(0, 2));
    state.token = readToken();
    if (state.token) load();
    else signedOut();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
