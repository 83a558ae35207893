"""The chat's CSS and the one script it needs, kept apart from the wiring in ``ui.app``.

Gradio 6 takes css/head at launch or mount time (``ui.app.launch_options``). Direction is never set
page-wide: each block carries its own ``dir`` and the rules below only style what that implies.
"""

from __future__ import annotations

__all__ = ["UI_CSS", "UI_HEAD"]

_ARABIC_FONTS = "'Noto Naskh Arabic', 'Noto Sans Arabic', 'Noto Sans', sans-serif"

_CHAT_CSS = f"""
.sanad-msg[dir=rtl] {{ text-align: right; font-family: {_ARABIC_FONTS}; }}
.sanad-msg[dir=ltr] {{ text-align: left; }}
#sanad-input textarea {{ unicode-bidi: plaintext; text-align: start; }}
a.sanad-cite {{ unicode-bidi: isolate; font-weight: 700; text-decoration: none; cursor: pointer; padding: 0 2px; }}
.sanad-banner {{ padding: 6px 10px; border-radius: 6px; margin-bottom: 6px; }}
.sanad-refused {{ background: #fdecea; color: #8a1c13; }}
.sanad-extractive, .sanad-unsupported {{ background: #fff4d6; color: #6b4e00; }}
.sanad-source {{ border: 1px solid #ddd; border-radius: 8px; padding: 8px 12px; margin: 8px 0; line-height: 1.8; }}
.sanad-source.sanad-active, .sanad-source:target {{ border-color: #e0a800; box-shadow: 0 0 0 2px #ffe08a; }}
.sanad-source mark {{ background: #ffe08a; padding: 0 2px; }}
.sanad-source[dir=rtl] {{ font-family: {_ARABIC_FONTS}; }}
.sanad-meta {{ color: #666; font-size: 0.9em; }}
.sanad-error {{ color: #8a1c13; }}
.sanad-header h1 {{ margin: 0 0 4px; font-size: 1.9em; }}
.sanad-header p, .sanad-upload-hint p {{ margin: 0; line-height: 1.6; }}
.sanad-header, .sanad-status, .sanad-upload-hint {{ font-family: {_ARABIC_FONTS}; }}
.sanad-types {{ font-family: ui-monospace, monospace; font-size: 0.9em; color: #555; }}
.sanad-status {{ display: flex; flex-wrap: wrap; gap: 4px 22px; font-size: 0.95em; }}
.sanad-stat-label {{ color: #666; }}
.sanad-stat-value {{ font-family: ui-monospace, monospace; font-weight: 600; }}
.sanad-docs-wrap {{ overflow-x: auto; max-width: 100%; }}
table.sanad-docs {{ width: 100%; border-collapse: collapse; table-layout: auto; }}
table.sanad-docs th, table.sanad-docs td {{ padding: 6px 8px; border-bottom: 1px solid #e5e5e5; vertical-align: top; }}
table.sanad-docs th {{ text-align: start; white-space: nowrap; font-weight: 600; }}
table.sanad-docs td {{ text-align: start; }}
table.sanad-docs td.sanad-col-title {{ font-family: {_ARABIC_FONTS}; line-height: 1.7; min-width: 14em; }}
table.sanad-docs td.sanad-col-published, table.sanad-docs td.sanad-col-chunks {{ white-space: nowrap; }}
table.sanad-docs td.sanad-col-source, table.sanad-docs td.sanad-col-id {{
  font-family: ui-monospace, monospace; font-size: 0.85em; max-width: 16em; overflow-wrap: anywhere; }}
.sanad-upload-report ul {{ margin: 4px 0; padding-inline-start: 1.2em; }}
@media (max-width: 640px) {{
  table.sanad-docs thead, table.sanad-docs td.sanad-col-id, table.sanad-docs td.sanad-col-chunks {{ display: none; }}
  table.sanad-docs tr {{ display: block; padding: 6px 0; border-bottom: 1px solid #e5e5e5; }}
  table.sanad-docs td {{ display: inline-block; border: none; padding: 2px 6px; }}
  table.sanad-docs td.sanad-col-title {{ display: block; min-width: 0; font-weight: 600; }}
  table.sanad-docs td.sanad-col-source {{ max-width: 100%; }}
}}
"""

#: stopped-early notices, outlets and dates under answers, "also reported by", the date range, the timeline
_NEWS_CSS = f"""
.sanad-stopped[dir=rtl], .sanad-cites[dir=rtl], .sanad-banner[dir=rtl], .sanad-also[dir=rtl] {{ text-align: right; }}
.sanad-stopped[dir=ltr], .sanad-cites[dir=ltr], .sanad-banner[dir=ltr], .sanad-also[dir=ltr] {{ text-align: left; }}
.sanad-why {{ display: block; font-size: 0.9em; }}
.sanad-hint {{ margin-top: 6px; font-size: 0.9em; color: #555; }}
.sanad-hint[dir=rtl] {{ text-align: right; }} .sanad-hint[dir=ltr] {{ text-align: left; }}
.sanad-stopped {{ background: #fff4d6; color: #6b4e00; padding: 6px 10px; border-radius: 6px; margin-top: 6px; }}
.sanad-cites {{ margin-top: 6px; font-size: 0.9em; color: #555; line-height: 1.7; }}
.sanad-also {{ margin-top: 6px; font-size: 0.9em; color: #555; }}
#sanad-dates {{ gap: 8px; }}
#sanad-dates input {{ direction: ltr; text-align: start; font-family: ui-monospace, monospace; }}
.sanad-timeline {{ font-family: {_ARABIC_FONTS}; line-height: 1.8; }}
.sanad-timeline h3 {{ margin: 14px 0 6px; font-size: 1.1em; }}
.sanad-tl-summary {{ border: 1px solid #e0a800; background: #fffaf0; border-radius: 8px; padding: 8px 12px; }}
ol.sanad-tl-list {{ list-style: none; margin: 0; padding: 0; border-inline-start: 3px solid #e0a800; }}
li.sanad-tl-event {{ position: relative; display: flex; gap: 14px; padding: 8px 0 10px; padding-inline-start: 16px; }}
li.sanad-tl-event::before {{ content: ""; position: absolute; inset-inline-start: -9px; top: 15px; width: 11px;
  height: 11px; border-radius: 50%; background: #e0a800; border: 2px solid #fff; }}
.sanad-tl-date {{ flex: 0 0 7.5em; font-family: ui-monospace, monospace; font-weight: 700; color: #6b4e00; }}
.sanad-tl-body {{ flex: 1; min-width: 0; }}
.sanad-tl-quote {{ margin: 0 0 2px; }}
.sanad-tl-meta {{ color: #666; font-size: 0.9em; }}
.sanad-tl-count, .sanad-tl-hint {{ color: #666; font-size: 0.9em; margin: 8px 0 0; }}
.sanad-tl-basis {{ font-family: {_ARABIC_FONTS}; font-weight: 400; font-size: 0.8em; color: #888; }}
.sanad-tl-event.sanad-active {{ background: #fffaf0; box-shadow: 0 0 0 2px #ffe08a; border-radius: 6px; }}
.sanad-tl-undated li.sanad-tl-event::before {{ background: #bbb; }}
.sanad-tl-undated ol.sanad-tl-list {{ border-inline-start-color: #ccc; }}
@media (max-width: 640px) {{
  li.sanad-tl-event {{ flex-direction: column; gap: 0; }}
  .sanad-tl-date {{ flex: none; }}
}}
"""

UI_CSS = _CHAT_CSS + _NEWS_CSS

#: clicking a [n] marker scrolls to and marks its source card or timeline event (whatever the chat's link handling)
UI_HEAD = """<script>
document.addEventListener('click', function (ev) {
  var a = ev.target.closest && ev.target.closest('a.sanad-cite');
  if (!a) return;
  ev.preventDefault(); ev.stopPropagation();
  var card = document.getElementById((a.getAttribute('href') || '#').slice(1));
  if (!card) return;
  document.querySelectorAll('.sanad-active').forEach(function (c) { c.classList.remove('sanad-active'); });
  card.classList.add('sanad-active');
  card.scrollIntoView({behavior: 'smooth', block: 'center'});
}, true);
</script>"""

