// The dashboards in a real browser: Debian's headless Chromium (/usr/bin/chromium, installed by
// scripts/setup-browser.sh) driven by playwright-core, against the built Worker serving its
// static assets. A key holder reads their quota and reset time; an operator creates a key,
// copies it, uses it through the SDK and finds the call in the log and the spend in the
// charts; both pages work from the keyboard alone, at phone width, without console errors. Each
// page is saved to docs/screenshots/ (shown in the README).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

import { startGateway, gatewayConfig, MODELS, ADMIN_TOKEN } from "../support/gateway.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = path.join(ROOT, "docs/screenshots");
const CHROMIUM = "/usr/bin/chromium";
const PLAN = { id: "pro", rpm: 60, tpm: 400000, concurrency: 8, window: "5h", window_tokens: 5000000, models: ["*"] };
// A plan charged in dollars, by calendar day in India's time (midnight there is 18:30 UTC).
const DOLLAR_PLAN = { id: "dollars", unit: "usd", rpm: 60, concurrency: 8, window: "daily", time_zone: "UTC+05:30", window_usd: 5, models: [MODELS.chat, MODELS.anthropic] };
const PHONE = { width: 390, height: 844 };

let gw;
let browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `the browser tests need ${CHROMIUM}: run sh scripts/setup-browser.sh`);
  mkdirSync(SHOTS, { recursive: true });
  gw = await startGateway({
    config: (mock) => {
      // Breakers on, so the operator's health view has the upstreams the calls went to.
      const config = gatewayConfig(mock, { plans: [PLAN, DOLLAR_PLAN], provider: { breaker: { enabled: true } } });
      const prices = { [MODELS.chat]: { input: 2.0, cached_input: 0.5, output: 8.0 }, [MODELS.anthropic]: { input: 3.0, cached_input: 0.3, cache_write_5m: 3.75, output: 15.0 } };
      for (const model of config.models) if (prices[model.id]) model.prices = [{ taken: "2026-11-30", ...prices[model.id] }];
      return config;
    },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
after(async () => {
  await browser?.close();
  await gw?.close();
});

/** A fresh page that records console errors and uncaught exceptions. */
async function openPage({ viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: gw.url });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`exception: ${error.message}`));
  return { page, context, problems };
}

/** Waits until the log has a row for `keyId`. */
async function logged(keyId, count = 1) {
  for (let i = 0; i < 200; i++) {
    const res = await gw.admin("GET", `/admin/log?key=${keyId}`);
    if (res.json?.data?.length >= count) return res.json.data;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the call never reached the log");
}

/** Clicks `button` and returns the file it downloads: its suggested name and its text. */
async function downloaded(page, button) {
  const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
  const stream = await download.createReadStream();
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { name: download.suggestedFilename(), text: Buffer.concat(chunks).toString("utf8") };
}

/** An exact dollar string as the pages write it: "5" → "$5.00", "4.996975" → "$4.996975". */
function dollars(text) {
  const [whole, fraction = ""] = String(text).split(".");
  return `$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${fraction.padEnd(2, "0")}`;
}

function utc(iso) {
  return `${new Date(iso).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "4 h 59 min 58 s" → seconds. */
function seconds(text) {
  const part = (unit) => Number(new RegExp(`(\\d+) ${unit}\\b`).exec(text)?.[1] ?? 0);
  return part("h") * 3600 + part("min") * 60 + part("s");
}

/** Whether the page is wider than its viewport (a phone would scroll sideways). */
async function overflows(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

test("key holder: the dashboard shows the right remaining quota and a live countdown to the reset", async () => {
  const created = await gw.createKey("pro", "holder");
  await gw.openaiClient(created.key).chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "Hello" }] });
  const [logRow] = await logged(created.id);
  const cost = `$${Number(logRow.cost_usd).toPrecision(2)}`;
  const usage = (await gw.request("GET", "/v1/usage", { headers: { "x-api-key": created.key } })).json;
  assert.equal(usage.window.remaining_tokens, 5000000 - 1512);

  const { page, context, problems } = await openPage();
  await page.goto(`${gw.url}/dashboard`);
  await page.getByLabel("Your API key").fill(created.key);
  await page.getByRole("button", { name: "Show my usage" }).click();
  await page.locator("#log table").waitFor();

  assert.equal(await page.locator("#quota-cards .card").first().locator(".value").textContent(), "pro");
  assert.equal(await page.locator("#window-text").textContent(), "4,998,488 tokens left");
  const bar = page.getByRole("progressbar");
  assert.equal(await bar.getAttribute("aria-valuenow"), "1512");
  assert.equal(await bar.getAttribute("aria-valuemax"), "5000000");
  assert.equal(await page.locator("#reset-at").textContent(), `(at ${utc(usage.window.resets_at)})`);
  const expected = (Date.parse(usage.window.resets_at) - Date.now()) / 1000;
  const first = seconds(await page.locator("#countdown").textContent());
  assert.ok(Math.abs(first - expected) <= 3, `countdown ${first} s, expected about ${expected} s`);
  await page.waitForTimeout(1100);
  const second = seconds(await page.locator("#countdown").textContent());
  assert.ok(second < first, "the countdown is live");

  // The call is in the last requests, with its cost; spend and tokens per model are charted.
  const row = page.locator("#log tbody tr").first();
  assert.match(await row.textContent(), new RegExp(`${MODELS.chat}.*200 ok.*1,500.*12`));
  assert.ok((await row.textContent()).includes(cost), cost);
  assert.ok((await page.getByRole("img", { name: /^Spend per model/ }).getAttribute("aria-label")).includes(`${MODELS.chat}: ${cost}`));
  assert.match(await page.getByRole("img", { name: /^Tokens per model/ }).getAttribute("aria-label"), new RegExp(`${MODELS.chat}: 1,512`));
  // The setup snippets carry this gateway's URL and the key's models; copying the key gives the key.
  assert.match(await page.locator("#snippets").textContent(), new RegExp(`ANTHROPIC_BASE_URL=${gw.url}`));
  const models = await page.locator("#model option").allTextContents();
  assert.deepEqual(models.sort(), Object.values(MODELS).sort());
  await page.getByRole("button", { name: "Copy" }).first().click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `export TOC_API_KEY=${created.key}`);
  assert.ok(!(await page.locator("body").textContent()).includes(created.key), "the key is never shown whole");
  // The CSV exports: the call in the requests, its day and model in the usage.
  const requests = await downloaded(page, page.getByRole("button", { name: "Export requests (CSV)" }));
  assert.equal(requests.name, "requests.csv");
  const requestLines = requests.text.trim().split("\r\n");
  assert.equal(requestLines.length, 2, requests.text);
  assert.ok(requestLines[1].includes(MODELS.chat) && requestLines[1].includes(logRow.id), requests.text);
  const report = await downloaded(page, page.getByRole("button", { name: "Export usage (CSV)" }));
  assert.equal(report.name, "usage.csv");
  const reportLines = report.text.trim().split("\r\n");
  assert.equal(reportLines.length, 2, report.text);
  assert.ok(reportLines[1].includes(MODELS.chat) && reportLines[1].includes(logRow.cost_usd), report.text);
  await page.screenshot({ path: path.join(SHOTS, "dashboard.png"), fullPage: true });

  // The key stays in this tab: a reload opens the dashboard again, a new tab asks for it.
  await page.reload();
  await page.locator("#log table").waitFor();
  const other = await context.newPage();
  await other.goto(`${gw.url}/dashboard`);
  assert.ok(await other.getByLabel("Your API key").isVisible());
  await other.close();

  // Phone width: nothing wider than the screen.
  await page.setViewportSize(PHONE);
  assert.equal(await overflows(page), false, "the dashboard fits a phone's width");
  await page.screenshot({ path: path.join(SHOTS, "dashboard-phone.png"), fullPage: true });

  // A wrong key is told so, in words.
  await page.getByRole("button", { name: "Forget key" }).click();
  await page.getByLabel("Your API key").fill(`toc-${"x".repeat(48)}`);
  await page.keyboard.press("Enter");
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").textContent(), /Invalid API key/);
  await context.close();
  assert.deepEqual(problems.filter((p) => !p.includes("401")), []);
});

test("operator: creates a key, copies it, the SDK uses it, and the call shows in the log and the spend", async () => {
  const { page, context, problems } = await openPage();
  await page.goto(`${gw.url}/admin`);
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#key-list table, #key-list p").first().waitFor();

  await page.getByLabel("Name").fill("browser-made");
  await page.getByLabel("Plan", { exact: true }).selectOption("pro");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.locator("#created").waitFor();
  const shown = await page.locator("#created-key").textContent();
  assert.match(shown, /^toc-[0-9A-Za-z]{48}$/);
  await page.getByRole("button", { name: "Copy key" }).click();
  const key = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(key, shown);
  await page.getByRole("button", { name: "I have copied it" }).click();
  assert.equal(await page.locator("#created-key").textContent(), "", "the key leaves the page");

  // The copied key works through the SDK.
  const answer = await gw.openaiClient(key).chat.completions.create({ model: MODELS.anthropic, messages: [{ role: "user", content: "Hello" }] });
  assert.ok(answer.choices[0].message.content.length > 0);
  const keyId = (await gw.admin("GET", "/admin/keys?q=browser-made")).json.data[0].id;
  const [row] = await logged(keyId);

  // The call in the log (filtered by its key), the spend in the cards and charts.
  await page.reload();
  await page.getByLabel("Key id").fill(keyId);
  await page.getByRole("button", { name: "Filter" }).click();
  await page.locator("#log-table caption", { hasText: `key ${keyId}` }).waitFor();
  const logRows = page.locator("#log-table tbody tr");
  assert.equal(await logRows.count(), 1);
  const text = await logRows.first().textContent();
  assert.match(text, /browser-made/);
  assert.match(text, new RegExp(`${MODELS.anthropic}.*p-anthropic.*200 ok`));
  const spend = `$${Number(row.cost_usd).toPrecision(2)}`;
  assert.ok(text.includes(spend), `${spend} in ${text}`);
  const byKey = await page.getByRole("img", { name: /^Spend per key/ }).getAttribute("aria-label");
  assert.ok(byKey.includes(`browser-made (${keyId}): ${spend}`), byKey);
  const byModel = await page.getByRole("img", { name: /^Spend per model/ }).getAttribute("aria-label");
  assert.ok(byModel.includes(`${MODELS.anthropic}: `), byModel);
  assert.match(await page.locator("#top-keys").textContent(), /browser-made/);
  // The filtered log and the usage as CSV, from the page.
  const logCsv = await downloaded(page, page.getByRole("button", { name: "Export (CSV)", exact: true }));
  assert.equal(logCsv.name, "request-log.csv");
  const logLines = logCsv.text.trim().split("\r\n");
  assert.equal(logLines.length, 2, logCsv.text);
  assert.ok(logLines[1].includes(keyId) && logLines[1].includes(row.id), logCsv.text);
  const usageCsv = await downloaded(page, page.getByRole("button", { name: "Export usage (CSV)" }));
  assert.equal(usageCsv.name, "usage.csv");
  assert.ok(usageCsv.text.split("\r\n").some((line) => line.includes(keyId) && line.includes(row.cost_usd)), usageCsv.text);
  await page.screenshot({ path: path.join(SHOTS, "admin.png"), fullPage: true });

  // Plan change, disable and revoke from the key list act on the key at once.
  const keyRow = page.locator("#key-list tbody tr", { hasText: keyId });
  await keyRow.getByLabel("Plan of browser-made").selectOption("pro");
  await keyRow.getByRole("button", { name: "Apply plan to browser-made" }).click();
  await page.getByRole("status").waitFor();
  await keyRow.getByRole("button", { name: "Disable browser-made" }).click();
  await page.locator("#key-list tbody tr", { hasText: keyId }).getByRole("button", { name: "Enable browser-made" }).waitFor();
  assert.equal((await gw.admin("GET", `/admin/keys/${keyId}`)).json.status, "disabled");
  await page.locator("#key-list tbody tr", { hasText: keyId }).getByRole("button", { name: "Revoke browser-made" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
  await page.locator("#key-list tbody tr", { hasText: keyId }).getByText("revoked").waitFor();
  assert.equal((await gw.admin("GET", `/admin/keys/${keyId}`)).json.status, "revoked");
  const refused = await gw.request("GET", "/v1/usage", { headers: { "x-api-key": key } });
  assert.equal(refused.status, 401);

  // Upstream health from /health/ready: the upstream the call went to, its breaker closed.
  const health = await page.locator("#health-body").textContent();
  assert.match(health, /Gateway: ready/);
  assert.match(await page.locator("#health-body tbody tr", { hasText: "p-anthropic" }).first().textContent(), /p-anthropic.*closed/);
  await page.setViewportSize(PHONE);
  assert.equal(await overflows(page), false, "the operator's page fits a phone's width");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, "admin-phone.png"), fullPage: true });
  await context.close();
  assert.deepEqual(problems, []);
});

/** Presses Tab until `predicate(active element)` holds; the steps taken, or a failure. */
async function tabTo(page, predicate, what, limit = 60) {
  for (let i = 1; i <= limit; i++) {
    await page.keyboard.press("Tab");
    const active = await page.evaluate(() => {
      const a = document.activeElement;
      const style = getComputedStyle(a);
      const box = a.getBoundingClientRect();
      return {
        tag: a.tagName,
        id: a.id,
        text: (a.getAttribute("aria-label") ?? a.textContent ?? "").trim().slice(0, 60),
        label: a.labels?.[0]?.textContent?.trim() ?? null,
        outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
        visible: box.width > 0 && box.height > 0,
      };
    });
    assert.ok(active.visible, `focus landed on an invisible ${active.tag} #${active.id}`);
    assert.ok(active.outline, `no visible focus on ${active.tag} #${active.id} "${active.text}"`);
    if (predicate(active)) return i;
  }
  throw new Error(`Tab never reached ${what}`);
}

test("keyboard only: both pages are usable without a mouse, with visible focus", async () => {
  const { page, context, problems } = await openPage();
  // Operator: skip link, sign in, create a key, dismiss it.
  await page.goto(`${gw.url}/admin`);
  await tabTo(page, (a) => a.text === "Skip to content", "the skip link");
  await tabTo(page, (a) => a.id === "token", "the token field");
  await page.keyboard.type(ADMIN_TOKEN);
  await page.keyboard.press("Enter");
  await page.locator("#keys-title:focus").waitFor();
  await tabTo(page, (a) => a.id === "new-name", "the name field");
  await page.keyboard.type("keyboard-made");
  await tabTo(page, (a) => a.id === "new-plan", "the plan");
  await tabTo(page, (a) => a.text === "Create key", "Create key");
  await page.keyboard.press("Enter");
  await page.locator("#created:focus").waitFor();
  const key = await page.locator("#created-key").textContent();
  await tabTo(page, (a) => a.text === "Copy key", "Copy key");
  await page.keyboard.press("Enter");
  await tabTo(page, (a) => a.text === "I have copied it", "the dismiss button");
  await page.keyboard.press("Enter");
  await page.locator("#new-name:focus").waitFor();
  const made = (await gw.admin("GET", "/admin/keys?q=keyboard-made")).json.data;
  assert.equal(made.length, 1);
  // Its details, and a top-up typed and submitted from the keyboard (focus comes back to the amount).
  await tabTo(page, (a) => a.text === "Details of keyboard-made", "the key's details");
  await page.keyboard.press("Enter");
  await page.locator("#key-detail:focus").waitFor();
  await tabTo(page, (a) => a.id === "balance-amount", "the balance amount");
  await page.keyboard.type("2");
  await page.keyboard.press("Enter");
  await page.locator("#detail-balance", { hasText: "$2.00 left" }).waitFor();
  await page.locator("#balance-amount:focus").waitFor();
  assert.equal((await gw.admin("GET", `/admin/keys/${made[0].id}`)).json.usage.balance.remaining_usd, "2");
  // The section links and the log filter are reachable too.
  await tabTo(page, (a) => a.id === "log-outcome", "the log's outcome filter");
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.type(made[0].id);
  await page.keyboard.press("Enter");
  await page.locator("#log-table p, #log-table table").first().waitFor();

  // Key holder: the new key opens the dashboard, and every copy button can be reached.
  await page.goto(`${gw.url}/dashboard`);
  await tabTo(page, (a) => a.id === "key", "the key field");
  await page.keyboard.type(key);
  await page.keyboard.press("Enter");
  await page.locator("#quota-title:focus").waitFor();
  await page.locator("#snippets pre").first().waitFor();
  const steps = await tabTo(page, (a) => a.text === "Copy", "a copy button", 80);
  assert.ok(steps > 0);
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `export TOC_API_KEY=${key}`);
  await page.keyboard.press("Escape");
  await context.close();
  assert.deepEqual(problems, []);
});

/**
 * What a page shows a person who cannot see well or uses no mouse: every visible field has a
 * label, every button and link a name, and every visible text (SVG labels included) the WCAG AA
 * contrast with what is behind it (4.5:1, 3:1 for large text). The failures, as text.
 */
async function audit(page, least) {
  return page.evaluate((least) => {
    const problems = [];
    const visible = (e) => {
      const box = e.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && getComputedStyle(e).visibility !== "hidden" && !e.closest(".visually-hidden, [hidden]");
    };
    const describe = (e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""} "${(e.textContent ?? "").trim().slice(0, 40)}"`;
    for (const field of document.querySelectorAll("input, select, textarea")) {
      if (!visible(field)) continue;
      const named = field.labels?.length || field.getAttribute("aria-label") || field.getAttribute("aria-labelledby");
      if (!named) problems.push(`no label: ${describe(field)}`);
    }
    for (const control of document.querySelectorAll("button, a[href]")) {
      if (!visible(control)) continue;
      if (!(control.getAttribute("aria-label") ?? control.textContent).trim()) problems.push(`no name: ${describe(control)}`);
    }
    const rgba = (text) => {
      const m = /rgba?\(([\d.]+),?\s*([\d.]+),?\s*([\d.]+)(?:,?\s*\/?\s*([\d.]+))?\)/.exec(text);
      return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])] : null;
    };
    const luminance = ([r, g, b]) => {
      const c = [r, g, b].map((v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (e) => {
      for (let n = e; n; n = n.parentElement) {
        const c = rgba(getComputedStyle(n).backgroundColor);
        if (c && c[3] > 0.5) return c;
      }
      return rgba(getComputedStyle(document.documentElement).backgroundColor) ?? [255, 255, 255, 1];
    };
    const texts = [...document.querySelectorAll("body *")].filter(
      (e) => [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim()) && visible(e),
    );
    let checked = 0;
    for (const e of texts) {
      if (e.closest("button:disabled, select:disabled")) continue;
      const style = getComputedStyle(e);
      const inSvg = e instanceof SVGElement;
      const colour = rgba(inSvg ? style.fill : style.color);
      if (!colour) continue;
      const behind = background(inSvg ? e.closest("svg").parentElement : e);
      const [a, b] = [luminance(colour), luminance(behind)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      checked++;
      if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)}: ${describe(e)}`);
    }
    if (checked < least) problems.push(`only ${checked} texts checked`);
    return problems;
  }, least);
}

test("accessibility: labels, names and AA contrast on both pages, in the light and the dark theme", async () => {
  const created = await gw.createKey("pro", "audited");
  await gw.openaiClient(created.key).chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "Hello" }] });
  await logged(created.id);
  for (const colorScheme of ["light", "dark"]) {
    const { page, context, problems } = await openPage();
    await page.emulateMedia({ colorScheme });
    await page.goto(`${gw.url}/dashboard`);
    assert.deepEqual(await audit(page, 5), [], `the dashboard's sign-in (${colorScheme})`);
    await page.getByLabel("Your API key").fill(created.key);
    await page.getByRole("button", { name: "Show my usage" }).click();
    await page.locator("#log table").waitFor();
    assert.deepEqual(await audit(page, 60), [], `the dashboard (${colorScheme})`);
    await page.goto(`${gw.url}/admin`);
    assert.deepEqual(await audit(page, 5), [], `the operator's sign-in (${colorScheme})`);
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#key-list table").waitFor();
    await page.locator("#log-table table").waitFor();
    await page.locator("#health-body h3").first().waitFor();
    await page.getByRole("button", { name: "Details of audited" }).click();
    await page.locator("#key-detail #rules-form").waitFor();
    assert.deepEqual(await audit(page, 60), [], `the operator's page (${colorScheme})`);
    await context.close();
    assert.deepEqual(problems, []);
  }
});

/** Signs in to the operator's page. */
async function adminSignIn(page) {
  await page.goto(`${gw.url}/admin`);
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#key-list table, #key-list p").first().waitFor();
}

/** Opens the key holder's dashboard with `key`. */
async function holderSignIn(page, key) {
  await page.goto(`${gw.url}/dashboard`);
  await page.getByLabel("Your API key").fill(key);
  await page.getByRole("button", { name: "Show my usage" }).click();
  await page.locator("#log table, #log p").first().waitFor();
}

test("operator: tops up a balance, sets a daily spend limit, an expiry and rules in the page; the key holder's page shows exactly those", async () => {
  const created = await gw.createKey("pro", "budgeted");
  const { page, context, problems } = await openPage();
  await adminSignIn(page);
  await page.getByRole("button", { name: "Details of budgeted" }).click();
  const detail = page.locator("#key-detail");
  await detail.locator("#balance-form").waitFor();
  assert.match(await page.locator("#detail-balance").textContent(), /^None/);

  // Top up $5, take $1.25 off: $3.75.
  await detail.getByLabel("Amount (USD)").fill("5");
  await detail.getByRole("button", { name: "Add to balance" }).click();
  await page.locator("#detail-balance", { hasText: "$5.00 left" }).waitFor();
  await detail.getByLabel("Amount (USD)").fill("1.25");
  await detail.getByRole("button", { name: "Take off" }).click();
  await page.locator("#detail-balance", { hasText: "$3.75 left" }).waitFor();
  // An amount that is not one is refused in the page, next to its field.
  await detail.getByLabel("Amount (USD)").fill("lots");
  await detail.getByRole("button", { name: "Add to balance" }).click();
  await page.locator("#balance-amount-error", { hasText: "positive number of dollars" }).waitFor();

  // A daily spend limit of $2.
  await detail.getByLabel("Daily limit (USD)").fill("2");
  await detail.getByRole("button", { name: "Save limits" }).click();
  await page.locator("#detail-spend-daily", { hasText: "of $2.00 spent today" }).waitFor();
  // A monthly limit set, then cleared by emptying its field.
  await detail.getByLabel("Monthly limit (USD)").fill("10");
  await detail.getByRole("button", { name: "Save limits" }).click();
  await page.locator("#detail-spend-monthly", { hasText: "of $10.00 spent this month" }).waitFor();
  assert.equal((await gw.admin("GET", `/admin/keys/${created.id}`)).json.usage.spend.monthly.limit_usd, "10");
  await detail.getByLabel("Monthly limit (USD)").fill("");
  await detail.getByRole("button", { name: "Save limits" }).click();
  await page.locator("#detail-spend-monthly", { hasText: "no limit" }).waitFor();

  // An expiry 30 days ahead (typed in the browser's local time), a model allowlist and an owner.
  const local = await page.evaluate(() => {
    const d = new Date(Date.now() + 30 * 86_400_000);
    d.setMilliseconds(0);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  });
  const expiresAt = await page.evaluate((v) => new Date(v).toISOString().replace(/\.000Z$/, "Z"), local);
  await detail.getByLabel("Expires (your local time)").fill(local);
  await detail.getByLabel("Allowed models").fill(`${MODELS.chat}, m-anth*`);
  await detail.getByLabel("Owner").fill("alice@example.com");
  await detail.getByRole("button", { name: "Save rules" }).click();
  await page.getByRole("status").filter({ hasText: "Rules of budgeted saved" }).waitFor();
  const record = (await gw.admin("GET", `/admin/keys/${created.id}`)).json;
  assert.equal(record.expires_at, expiresAt);
  assert.deepEqual(record.models, [MODELS.chat, "m-anth*"]);
  assert.equal(record.allowed_ips, null);
  assert.deepEqual(record.metadata, { owner: "alice@example.com" });
  assert.equal(record.usage.balance.remaining_usd, "3.75");
  assert.equal(record.usage.spend.daily.limit_usd, "2");
  assert.equal(record.usage.spend.monthly.limit_usd, null);

  // The keys table shows the expiry (balances are in the details only: listing keys must not
  // reach every key's Durable Object).
  const row = page.locator("#key-list tbody tr", { hasText: created.id });
  await row.waitFor();
  assert.ok((await row.textContent()).includes(utc(expiresAt)));

  // A rule the API refuses: its message, next to its field; nothing is written.
  await detail.getByLabel("Allowed client IP ranges").fill("203.0.113.0/24, 10.0.0.1/99");
  await detail.getByRole("button", { name: "Save rules" }).click();
  const ipError = page.locator("#edit-ips-error");
  await ipError.waitFor();
  const refused = await gw.admin("PATCH", `/admin/keys/${created.id}`, { body: { allowed_ips: ["203.0.113.0/24", "10.0.0.1/99"] } });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error.param, "allowed_ips[1]");
  assert.equal(await ipError.textContent(), refused.json.error.message);
  assert.equal(await detail.getByLabel("Allowed client IP ranges").getAttribute("aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.id), "edit-ips");
  assert.ok((await detail.getByLabel("Allowed client IP ranges").getAttribute("aria-describedby")).includes("edit-ips-error"));
  assert.equal((await gw.admin("GET", `/admin/keys/${created.id}`)).json.allowed_ips, null);
  await page.locator("#key-detail").screenshot({ path: path.join(SHOTS, "admin-key.png") });
  await page.setViewportSize(PHONE);
  assert.equal(await overflows(page), false, "a key's details fit a phone's width");
  await page.setViewportSize({ width: 1280, height: 900 });

  // The create form's rules: a model pattern the plan lacks is shown under that field.
  await page.getByText("Rules and notes (optional)").click();
  await page.getByLabel("Name").fill("never-made");
  await page.locator("#new-models").fill("nope-*");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.locator("#new-models-error", { hasText: "`nope-*` matches no model of the key's plan" }).waitFor();
  assert.equal((await gw.admin("GET", "/admin/keys?q=never-made")).json.data.length, 0);
  await context.close();
  // Chromium logs each refused request (the two 400s above); nothing else.
  assert.deepEqual(problems, Array(2).fill("console: Failed to load resource: the server responded with a status of 400 (Bad Request)"));

  // A call spends from the balance and the day; the key holder sees exactly what /v1/usage says.
  await gw.openaiClient(created.key).chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "Hello" }] });
  await logged(created.id);
  const holder = await openPage();
  await holderSignIn(holder.page, created.key);
  const usage = (await gw.request("GET", "/v1/usage", { headers: { "x-api-key": created.key } })).json;
  assert.ok(Number(usage.balance.spent_usd) > 0, JSON.stringify(usage.balance));
  const p = holder.page;
  assert.equal(await p.locator("#balance-remaining").textContent(), `${dollars(usage.balance.remaining_usd)} left`);
  assert.equal(usage.spend.daily.limit_usd, "2");
  assert.equal(await p.locator("#spend-daily-remaining").textContent(), `${dollars(usage.spend.daily.remaining_usd)} left`);
  assert.equal(await p.locator("#spend-daily-text").textContent(), `${dollars(usage.spend.daily.spent_usd)} of $2.00 spent today`);
  assert.equal(await p.locator("#spend-daily-reset").textContent(), `(at ${utc(usage.spend.daily.resets_at)})`);
  assert.equal(await p.locator("#spend-monthly-remaining").textContent(), "No limit");
  assert.equal(usage.policy.expires_at, expiresAt);
  assert.equal(await p.locator("#policy-expires").textContent(), utc(expiresAt));
  assert.equal(await p.locator("#policy-models").textContent(), `${MODELS.chat}, m-anth*`);
  assert.equal(await p.locator("#policy-ips").textContent(), "Any");
  // The allowlist narrows the setup examples' models too.
  assert.deepEqual((await p.locator("#model option").allTextContents()).sort(), [MODELS.anthropic, MODELS.chat].sort());
  await holder.context.close();
  assert.deepEqual(holder.problems, []);

  // The operator removes the balance (after confirming): the key pays by its plan alone again.
  const again = await openPage();
  await adminSignIn(again.page);
  await again.page.getByRole("button", { name: "Details of budgeted" }).click();
  await again.page.locator("#key-detail").getByRole("button", { name: "Remove balance" }).click();
  await again.page.getByRole("dialog").getByRole("button", { name: "Remove balance" }).click();
  await again.page.locator("#detail-balance", { hasText: /^None/ }).waitFor();
  assert.equal((await gw.request("GET", "/v1/usage", { headers: { "x-api-key": created.key } })).json.balance, null);
  await again.context.close();
  assert.deepEqual(again.problems, []);
});

test("key holder on a plan in dollars: dollars left in the window and its reset at the plan's local midnight", async () => {
  const created = await gw.createKey("dollars", "dollar-holder");
  await gw.openaiClient(created.key).chat.completions.create({ model: MODELS.chat, messages: [{ role: "user", content: "Hello" }] });
  await logged(created.id);
  const usage = (await gw.request("GET", "/v1/usage", { headers: { "x-api-key": created.key } })).json;
  assert.equal(usage.unit, "usd");
  // The next midnight at UTC+05:30 is 18:30 UTC.
  const now = Date.now();
  const midnight = new Date(now);
  midnight.setUTCHours(18, 30, 0, 0);
  if (midnight.getTime() <= now) midnight.setUTCDate(midnight.getUTCDate() + 1);
  assert.equal(Date.parse(usage.window.resets_at), midnight.getTime());
  assert.ok(Number(usage.window.used_usd) > 0);

  const { page, context, problems } = await openPage();
  await page.emulateMedia({ colorScheme: "light" });
  await holderSignIn(page, created.key);
  assert.equal(await page.locator("#window-text").textContent(), `${dollars(usage.window.remaining_usd)} left`);
  assert.equal(await page.locator("#window-label").textContent(), `${dollars(usage.window.used_usd)} of $5.00 spent (${((Number(usage.window.used_usd) / 5) * 100).toFixed(1)}%) since ${utc(usage.window.started_at)}`);
  const bar = page.getByRole("progressbar");
  assert.equal(await bar.getAttribute("aria-valuetext"), `${dollars(usage.window.used_usd)} of $5.00 spent`);
  assert.equal(await page.locator("#quota-cards .card").first().locator(".sub").textContent(), "$5.00 per calendar day, charged in dollars");
  assert.match(await page.locator("#quota-cards").textContent(), /Spend this minute/);
  assert.equal(await page.locator("#reset-at").textContent(), `(at ${utc(usage.window.resets_at)})`);
  const expected = (midnight.getTime() - Date.now()) / 1000;
  const shown = seconds(await page.locator("#countdown").textContent());
  assert.ok(Math.abs(shown - expected) <= 3, `countdown ${shown} s, expected about ${expected} s`);
  assert.equal(await page.locator("#balance-remaining").textContent(), "None");
  assert.equal(await page.locator("#spend-daily-remaining").textContent(), "No limit");
  assert.equal(await page.locator("#policy-expires").textContent(), "Never");
  assert.equal(await page.locator("#policy-models").textContent(), "Every model of the plan");
  assert.deepEqual(await audit(page, 60), [], "the dashboard of a plan in dollars");
  await page.screenshot({ path: path.join(SHOTS, "dashboard-usd.png"), fullPage: true });
  await page.setViewportSize(PHONE);
  assert.equal(await overflows(page), false, "fits a phone's width");
  await context.close();
  assert.deepEqual(problems, []);
});
