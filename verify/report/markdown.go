package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/chaos-sre/chaos/verify"
)

// WriteMarkdown writes a GitHub-flavoured Markdown summary (for
// $GITHUB_STEP_SUMMARY or a merge-request note): the verdict, every check,
// the faults. Several runs get an overview table first, failed runs first
// (ByOutcome).
func WriteMarkdown(w io.Writer, reps ...*Report) error {
	reps = ByOutcome(reps)
	var b strings.Builder
	if len(reps) > 1 {
		code := Worst(reps)
		fmt.Fprintf(&b, "# %s chaos: exit %d — %s\n\n", icon(code), code, ExitMeaning(code))
		b.WriteString("| | Experiment | Verdict | Checks held | Time to recover |\n|---|---|---|---|---|\n")
		for _, r := range reps {
			fmt.Fprintf(&b, "| %s | %s | %s (exit %d) | %d/%d | %s |\n", icon(r.ExitCode), cell(r.Experiment), inline(r.Verdict), r.ExitCode,
				len(r.withStatus(verify.StatusHeld)), len(r.Checks), ttr(r))
		}
		b.WriteString("\n")
	}
	level := "##"
	if len(reps) == 1 {
		level = "#"
	}
	for _, r := range reps {
		markdownRun(&b, level, r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func markdownRun(b *strings.Builder, level string, r *Report) {
	fmt.Fprintf(b, "%s %s %s: %s\n\n", level, icon(r.ExitCode), cell(r.Experiment), inline(strings.ToUpper(r.Verdict)))
	fmt.Fprintf(b, "**Exit %d** — %s.<br>%s\n\n", r.ExitCode, ExitMeaning(r.ExitCode), runFacts(r))
	if r.Reason != "" && r.Verdict != "failed" {
		fmt.Fprintf(b, "> %s\n\n", oneLine(r.Reason))
	}
	if len(r.Checks) > 0 {
		b.WriteString("| | Check | Kind | Window | Measured | Bound |\n|---|---|---|---|---|---|\n")
		for _, c := range r.Checks {
			mark := map[string]string{verify.StatusHeld: "✅", verify.StatusFailed: "❌", verify.StatusInconclusive: "❔"}[c.Status()]
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", mark, cell(c.Name), cell(c.Kind), cell(c.Window), cell(c.Measured), cell(c.Bound))
		}
		b.WriteString("\n")
	}
	for _, c := range r.Failed() {
		fmt.Fprintf(b, "- ❌ **%s**: %s\n", cell(c.Name), oneLine(c.Reason))
	}
	for _, c := range r.Inconclusive() {
		fmt.Fprintf(b, "- ❔ **%s**: %s\n", cell(c.Name), oneLine(c.Reason))
	}
	if len(r.Failed())+len(r.Inconclusive()) > 0 {
		b.WriteString("\n")
	}
	if len(r.Faults) > 0 {
		b.WriteString("<details><summary>Faults</summary>\n\n| Fault | Kind | Targets | Mechanism | Window |\n|---|---|---|---|---|\n")
		for _, f := range r.Faults {
			win := "not injected"
			if f.Injected {
				win = fmt.Sprintf("+%.1fs → +%.1fs", float64(f.Start), float64(f.End))
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(f.Name), cell(f.Kind), cell(strings.Join(f.Targets, ", ")), cell(f.Mechanism), win)
		}
		b.WriteString("\n</details>\n\n")
	}
}

func icon(code int) string {
	switch code {
	case 0:
		return "✅"
	case 1:
		return "❌"
	case 5:
		return "❔"
	}
	return "⚠️"
}

func ttr(r *Report) string {
	if r.TimeToRecover == nil {
		return "—"
	}
	return fmtTTR(r.TimeToRecover.Duration())
}

// cell escapes text for a Markdown table cell; empty text is a dash.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	return inline(s)
}

// oneLine keeps text on one Markdown line and shows HTML as text.
func oneLine(s string) string { return inline(s) }

// inline escapes text from a report (names, reasons, measured values) for
// one line of GitHub-flavoured Markdown: it stays on its line and in its
// table cell, shows as the same characters, and cannot add emphasis, code,
// links, images or HTML — a result.json is input, and a step summary is
// rendered for everyone who opens the CI run. Escaping [ and ] is enough
// to stop links and images; # and list markers only matter at the start of
// a line, where report text never is.
func inline(s string) string { return mdEscaper.Replace(s) }

var mdEscaper = strings.NewReplacer(
	"\r\n", " ", "\n", " ", "\r", " ",
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "~", `\~`,
	"[", `\[`, "]", `\]`,
)
