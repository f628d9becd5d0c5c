// The page of biogpt-serve: fills in the example text, sends it to POST /extract and shows the answer
// as a table and as highlights at the arguments' character spans. Plain DOM, no dependencies: text is
// only ever set as textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

// The spans to highlight: each distinct [start, end) once, by start; a span overlapping one already
// placed is left out (marks cannot overlap), the longer first where two start together.
function highlightSpans(relations) {
  const spans = new Map();
  for (const relation of relations) {
    for (const [role, span] of [["head", relation.head_span], ["tail", relation.tail_span]]) {
      if (span && !spans.has(`${span[0]}:${span[1]}`)) spans.set(`${span[0]}:${span[1]}`, { start: span[0], end: span[1], role });
    }
  }
  const sorted = [...spans.values()].sort((a, b) => a.start - b.start || b.end - a.end);
  const placed = [];
  for (const span of sorted) {
    if (placed.length === 0 || span.start >= placed[placed.length - 1].end) placed.push(span);
  }
  return placed;
}

function showHighlights(text, relations) {
  const box = $("highlighted");
  box.replaceChildren();
  let at = 0;
  for (const span of highlightSpans(relations)) {
    box.append(document.createTextNode(text.slice(at, span.start)));
    const mark = document.createElement("mark");
    mark.className = span.role;
    mark.dataset.start = span.start;
    mark.dataset.end = span.end;
    mark.textContent = text.slice(span.start, span.end);
    box.append(mark);
    at = span.end;
  }
  box.append(document.createTextNode(text.slice(at)));
}

function showTable(relations) {
  const body = $("relations").querySelector("tbody");
  body.replaceChildren();
  relations.forEach((relation, index) => {
    const row = document.createElement("tr");
    for (const value of [String(index + 1), relation.head, relation.type, relation.tail]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    }
    body.append(row);
  });
  $("relations").hidden = relations.length === 0;
}

function showAnswer(text, result) {
  showTable(result.relations);
  showHighlights(text, result.relations);
  $("label").hidden = result.label === null;
  $("label-value").textContent = result.label ?? "";
  const flags = [];
  if (result.relations.length === 0 && result.label === null) flags.push("no relation found");
  if (result.parse_failed) flags.push("the generated text did not parse");
  if (result.truncated) flags.push("the text was truncated to the model's positions");
  $("flags").textContent = flags.join("; ");
  $("generated").textContent = result.generated;
  $("answer").hidden = false;
  document.body.dataset.state = "answered";
}

async function extract() {
  const text = $("text").value;
  const button = $("extract");
  button.disabled = true;
  document.body.dataset.state = "extracting";
  $("status").className = "";
  $("status").textContent = "extracting...";
  try {
    const response = await fetch("/extract", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || answer.detail || response.statusText);
    showAnswer(text, answer.results[0]);
    $("status").textContent = "";
  } catch (error) {
    $("status").className = "error";
    $("status").textContent = String(error.message || error);
    document.body.dataset.state = "error";
  } finally {
    button.disabled = false;
  }
}

async function load() {
  $("extract").addEventListener("click", extract);
  $("text").addEventListener("input", () => { $("example-source").textContent = ""; });
  const [health, example] = await Promise.all([fetch("/health"), fetch("/example")]);
  if (health.ok) {
    const info = await health.json();
    $("model").textContent = `${info.model} · task ${info.task} · ${info.device} · ${info.dtype}`;
  }
  if (example.ok) {
    const info = await example.json();
    if (!$("text").value) $("text").value = info.text;
    $("example-source").textContent = info.text ? `Example: ${info.source}` : info.source;
  }
  document.body.dataset.state = "ready";
}

load();
