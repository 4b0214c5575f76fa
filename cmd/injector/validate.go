package main

// What `injector validate` prints: the plan a run follows (engine.Describe)
// and the settings that shape it, as text (writePlan) or one JSON document
// (writePlanJSON).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ecs-secret-injector/injector/config"
	"github.com/ecs-secret-injector/injector/engine"
	"github.com/ecs-secret-injector/injector/formats"
	"github.com/ecs-secret-injector/injector/internal/iampolicy"
	"github.com/ecs-secret-injector/injector/plan"
	"github.com/ecs-secret-injector/injector/ref"
	"github.com/ecs-secret-injector/injector/sources"
)

// validateEnv is what the printed plan says of the settings.
type validateEnv struct {
	Settings config.Settings
	// Region is the default region, for references that name none, and
	// RegionFrom the variable it came from (AWS_REGION).
	Region, RegionFrom string
}

// view is the plan as validate shows it, in text or JSON.
type view struct {
	Valid         bool         `json:"valid"`
	Dir           string       `json:"dir"`
	FileMode      string       `json:"fileMode"`
	DefaultRegion string       `json:"defaultRegion"`
	Refresh       *refreshView `json:"refresh"`
	Concurrency   int          `json:"concurrency"`
	SecretsBatch  string       `json:"secretsBatch"`
	Files         []fileView   `json:"files"`
	Rounds        []roundView  `json:"rounds"`
	Checks        *roundView   `json:"checks,omitempty"`
	NotChecked    []string     `json:"notChecked,omitempty"`
	// Warnings say who can read the files, where that may not be who the
	// task needs (warnings); never nil, so JSON has a list.
	Warnings []string `json:"warnings"`
	// AccountWarnings say which secrets are read from another account
	// (iampolicy.Warnings): their keys and resource policies must allow it.
	AccountWarnings []string `json:"accountWarnings,omitempty"`
}

type refreshView struct {
	Interval     string `json:"interval"`
	MaxStaleness string `json:"maxStaleness"`
}

type fileView struct {
	Path   string       `json:"path"`
	Format formats.Name `json:"format"`
	// Dir: the path is a directory whose files the value's keys or
	// parameter names give.
	Dir  bool        `json:"dir"`
	From []inputView `json:"from"`
	Note string      `json:"note,omitempty"`
	// Mode, UID and GID are the files' mode and owner (-1: the
	// injector's own), the settings' unless the item gives its own (Own).
	Mode string `json:"mode"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	Own  bool   `json:"ownModeOrOwner,omitempty"`
}

type inputView struct {
	Name           string `json:"name,omitempty"`
	Registry       string `json:"registry,omitempty"`
	Ref            string `json:"ref"`
	SSECustomerKey string `json:"sseCustomerKey,omitempty"`
	// Pointer is the JSON pointer the reference selects with (after #).
	Pointer string `json:"pointer,omitempty"`
}

type roundView struct {
	APICalls  int        `json:"apiCalls"`
	Batched   bool       `json:"batched"`
	Unbatched int        `json:"unbatched"`
	Calls     []callView `json:"calls"`
}

type callView struct {
	Service        string   `json:"service,omitempty"`
	Operation      string   `json:"operation,omitempty"`
	Region         string   `json:"region,omitempty"`
	Reads          []string `json:"reads"`
	KMS            bool     `json:"kms"`
	SSECustomerKey bool     `json:"sseCustomerKey"`
	Version        bool     `json:"version"`
	Note           string   `json:"note,omitempty"`
	Role           string   `json:"role,omitempty"`
	FailoverRegion string   `json:"failoverRegion,omitempty"`
}

func newView(run engine.Description, env validateEnv) view {
	s := env.Settings
	v := view{Valid: true, Dir: s.Dir.Path, FileMode: fmt.Sprintf("%04o", uint32(s.FileMode.Mode)), DefaultRegion: env.Region,
		Concurrency: s.Concurrency.N, SecretsBatch: s.SecretsBatch.Mode, Warnings: planWarnings(s, run.Plan)}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	v.AccountWarnings = iampolicy.Warnings(run.Calls(), "")
	if s.Refresh() {
		v.Refresh = &refreshView{Interval: s.RefreshInterval.D.String(), MaxStaleness: s.Staleness().String()}
	}
	keys := map[ref.Target]*ref.Ref{}
	for _, pf := range run.Plan.Fetches {
		keys[pf.Target] = pf.SSECustomerKey
	}
	input := func(name, registry string, r ref.Ref) inputView {
		in := inputView{Name: name, Registry: registry, Ref: r.Raw, Pointer: r.Pointer}
		if k := keys[r.Target]; k != nil {
			in.SSECustomerKey = k.Raw
		}
		return in
	}
	for _, o := range run.Plan.Outputs {
		r := outputReader(s, o)
		f := fileView{Path: o.Path, Format: o.Format, Dir: o.Format.Dir(), Note: outputNote(o),
			Mode: fmt.Sprintf("%04o", uint32(r.mode)), UID: r.uid, GID: r.gid, Own: !o.Perm.IsZero()}
		for _, in := range o.Inputs {
			f.From = append(f.From, input(in.Name, "", in.Ref))
		}
		for _, c := range o.Credentials {
			f.From = append(f.From, input(c.Input.Name, c.Registry, c.Input.Ref))
		}
		v.Files = append(v.Files, f)
	}
	for _, r := range run.Rounds {
		v.Rounds = append(v.Rounds, newRoundView(r))
	}
	if run.Checks != nil {
		c := newRoundView(*run.Checks)
		v.Checks = &c
	}
	for _, t := range run.Fixed {
		v.NotChecked = append(v.NotChecked, targetText(t))
	}
	return v
}

func newRoundView(r sources.CallSet) roundView {
	rv := roundView{APICalls: r.APICalls(), Batched: r.Batched, Unbatched: r.Unbatched}
	for _, c := range r.Calls {
		cv := callView{Service: c.Service, Operation: c.Operation, Region: c.Region, KMS: c.KMS,
			SSECustomerKey: c.SSECustomerKey, Version: c.Version, Note: c.Note, Role: c.Role, FailoverRegion: c.FailoverRegion}
		for _, t := range c.Targets {
			cv.Reads = append(cv.Reads, targetText(t))
		}
		rv.Calls = append(rv.Calls, cv)
	}
	return rv
}

// outputNote is what the output's format notes of it (where the files of
// a directory output, and the variables of a dotenv file of an SSM path,
// come from).
func outputNote(o plan.Output) string {
	f, ok := formats.Lookup(o.Format)
	if !ok {
		return ""
	}
	note := f.Note(o.ReadsPath())
	if o.ReadsPath() && o.Inputs[0].Ref.Source == ref.SecretsPrefix {
		// A prefix's value is a path's, of secrets.
		note = prefixNote.Replace(note)
	}
	return note
}

var prefixNote = strings.NewReplacer("parameter", "secret", "the path", "the prefix")

// targetText names what a call reads as the request does: the secret id,
// the parameter name or path, the object, the variable.
func targetText(t ref.Target) string {
	switch t.Source {
	case ref.SecretsManager:
		switch {
		case t.VersionID != "":
			return t.ID + " (version " + t.VersionID + ")"
		case t.VersionStage != "":
			return t.ID + " (stage " + t.VersionStage + ")"
		}
		return t.ID
	case ref.SSM, ref.SSMPath:
		return t.ID
	default:
		return t.String()
	}
}

// writePlanJSON writes the plan as one JSON document.
func writePlanJSON(w io.Writer, run engine.Description, env validateEnv) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(newView(run, env))
}

// writePlan writes the plan as text: the settings that shape it, every file
// and where it comes from, and every call, round by round.
func writePlan(w io.Writer, run engine.Description, env validateEnv) error {
	v := newView(run, env)
	p := &printer{w: w}
	p.line("Valid: no AWS call was made and nothing was written.")
	p.line("")
	if v.Refresh != nil {
		p.line("Mode:            refresh: a check every %s (±%d%%), unhealthy after %s unconfirmed", v.Refresh.Interval,
			int(engine.Jitter*100), v.Refresh.MaxStaleness)
	} else {
		p.line("Mode:            one-shot (INJECTOR_REFRESH_INTERVAL is unset)")
	}
	p.line("Output root:     %s (files mode %s)", v.Dir, v.FileMode)
	if v.DefaultRegion != "" {
		p.line("Default region:  %s (%s)", v.DefaultRegion, env.RegionFrom)
	} else {
		p.line("Default region:  none (AWS_REGION and AWS_DEFAULT_REGION are unset)")
	}
	p.warnings("check who reads the files", v.Warnings)
	p.warnings("check the other accounts' policies", v.AccountWarnings)
	p.line("")
	p.line("Files (%d):", len(v.Files))
	// The mode and owner of each file are shown when an item gives its
	// own: otherwise they are the settings' above.
	own := slices.ContainsFunc(v.Files, func(f fileView) bool { return f.Own })
	tw := p.table()
	if own {
		fmt.Fprintln(tw, "  PATH\tMODE\tOWNER\tFORMAT\tFROM")
	} else {
		fmt.Fprintln(tw, "  PATH\tFORMAT\tFROM")
	}
	for _, f := range v.Files {
		name := f.Path
		if f.Dir {
			name += "/"
		}
		from := make([]string, len(f.From))
		for i, in := range f.From {
			from[i] = inputText(in, f.Format)
		}
		lead, note := "  "+name+"\t", "  \t\t  "
		if own {
			lead += fmt.Sprintf("%s\t%d:%d\t", f.Mode, f.UID, f.GID)
			note = "  \t\t\t\t  "
		}
		fmt.Fprintf(tw, "%s%s\t%s\n", lead, f.Format, strings.Join(from, "; "))
		if f.Note != "" {
			fmt.Fprintf(tw, "%s%s\n", note, f.Note)
		}
	}
	p.flush(tw)

	total := 0
	for _, r := range v.Rounds {
		total += r.APICalls
	}
	p.line("")
	p.line("API calls of a run: %d in %s, at most %d in flight (INJECTOR_CONCURRENCY)", total, plural(len(v.Rounds), "round"), v.Concurrency)
	for i, r := range v.Rounds {
		title := fmt.Sprintf("Round %d", i+1)
		if i > 0 {
			title += ", after round 1 (S3 objects read with an SSE-C key it fetched)"
		}
		p.line("%s: %s.", title, plural(r.APICalls, "call"))
		if rule := batchRule(r, v); rule != "" {
			p.line("  %s", rule)
		}
		p.calls(r.Calls)
	}
	if v.Checks != nil {
		p.line("")
		p.line("Checks each interval (refresh mode): %s, no value fetched; a change fetches what changed as above.", plural(v.Checks.APICalls, "call"))
		p.calls(v.Checks.Calls)
		if len(v.NotChecked) > 0 {
			p.line("  Never checked, their version cannot change: %s", strings.Join(v.NotChecked, ", "))
		}
	}
	return p.err
}

func inputText(in inputView, format formats.Name) string {
	f, _ := formats.Lookup(format)
	var b strings.Builder
	switch {
	case in.Registry != "":
		b.WriteString(in.Registry + " from ")
	case f != nil && f.Fields().Template:
		b.WriteString(in.Name + "=")
	}
	b.WriteString(in.Ref)
	if in.SSECustomerKey != "" {
		b.WriteString(" (SSE-C key from " + in.SSECustomerKey + ")")
	}
	return b.String()
}

// batchRule says how the round reads Secrets Manager: INJECTOR_SECRETS_BATCH
// and what the rule compared ("" when the round reads no secret).
func batchRule(r roundView, v view) string {
	secrets := false
	for _, c := range r.Calls {
		// A secret prefix has its own call, whatever the rule.
		secrets = secrets || c.Service == "secretsmanager" && !slices.ContainsFunc(c.Reads, func(s string) bool { return strings.HasSuffix(s, "/*") })
	}
	if !secrets {
		return ""
	}
	const batch = "Secrets Manager: unpinned secrets 20 to a BatchGetSecretValue, pinned ones one GetSecretValue each"
	const single = "Secrets Manager: one GetSecretValue per secret"
	switch {
	case v.SecretsBatch == string(sources.BatchAlways):
		return batch + " (INJECTOR_SECRETS_BATCH=always)."
	case v.SecretsBatch == string(sources.BatchNever):
		return single + " (INJECTOR_SECRETS_BATCH=never)."
	case r.Batched:
		return fmt.Sprintf("%s (INJECTOR_SECRETS_BATCH=auto: one call per value would take %d calls, more than INJECTOR_CONCURRENCY=%d).",
			batch, r.Unbatched, v.Concurrency)
	default:
		return fmt.Sprintf("%s (INJECTOR_SECRETS_BATCH=auto: the %d calls fit in INJECTOR_CONCURRENCY=%d).", single, r.Unbatched, v.Concurrency)
	}
}

// wrap breaks text into lines of at most width bytes, at spaces (a longer
// word stays whole).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// printer writes lines and tables, keeping the first error.
type printer struct {
	w   io.Writer
	err error
	buf bytes.Buffer // the table being written
}

// warnings prints a section of warnings, each wrapped as a list item; none
// prints nothing.
func (p *printer) warnings(what string, ws []string) {
	if len(ws) == 0 {
		return
	}
	p.line("")
	p.line("Warnings (%d): valid, but %s:", len(ws), what)
	for _, w := range ws {
		for i, l := range wrap(w+".", 96) {
			lead := "  - "
			if i > 0 {
				lead = "    "
			}
			p.line("%s%s", lead, l)
		}
	}
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

// table starts a table, written out by flush.
func (p *printer) table() *tabwriter.Writer {
	p.buf.Reset()
	return tabwriter.NewWriter(&p.buf, 0, 0, 2, ' ', 0)
}

// flush writes the table out without the padding an empty last cell
// leaves at the end of a line.
func (p *printer) flush(tw *tabwriter.Writer) {
	_ = tw.Flush() // into a bytes.Buffer: cannot fail
	for line := range strings.Lines(p.buf.String()) {
		p.line("%s", strings.TrimRight(line, " \n"))
	}
}

func (p *printer) calls(calls []callView) {
	tw := p.table()
	fmt.Fprintln(tw, "  SERVICE\tOPERATION\tREGION\tREADS\tHOW")
	for _, c := range calls {
		svc, op, region := c.Service, c.Operation, c.Region
		if svc == "" {
			svc, op, region = "-", "-", "-"
		}
		var how []string
		if c.Note != "" {
			how = append(how, c.Note)
		}
		if c.Version {
			how = append(how, "pinned version")
		}
		if c.SSECustomerKey {
			how = append(how, "SSE-C key sent")
		}
		if c.Role != "" {
			how = append(how, "as role "+c.Role)
		}
		if c.FailoverRegion != "" {
			how = append(how, "failover to "+c.FailoverRegion+" on an outage")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", svc, op, region, strings.Join(c.Reads, ", "), strings.Join(how, "; "))
	}
	p.flush(tw)
}
