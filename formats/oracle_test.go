package formats

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/ecs-secret-injector/injector/internal/tmpl"
)

// oracleInputs are the inputs of the differential tests: JSON of every
// shape, text that the escapers change, numbers as text.
var oracleInputs = map[string]string{
	"db": `{"username":"app","password":"p@ss'w\"rd","port":5432,"id":12345678901234567890,` +
		`"tags":["a","b"],"nested":{"k":[1,2.5,"x",null,true,{"z":"q"}],"m":{"b":2,"a":1}},` +
		`"empty":{},"arr":[],"null":null,"t":true,"f":false,"neg":-3,"float":1.5e3,"big":1E+400,` +
		`"frac":"0.1","dec":1.50,"u":"\u00e9\u2028\u0000<>&'\"=\\","zero":0,"n":"5","ten":10}`,
	"list":     `[3,1,2,"x",null,[],{}]`,
	"nums":     `[1,2,3,4,5,6,7,8,9,10]`,
	"strs":     `["b","a","c"]`,
	"s":        "hello",
	"empty":    "",
	"num":      "42",
	"html":     `<a href="x">&'</a>`,
	"ctl":      "\x00\x01\x1f\x7f\u00a0\u2028\ufffd\xff\u00e9\U0001F600\u200b\ue000",
	"b64":      "aGVsbG8gd29ybGQ=",
	"raw-b64":  "aGk",
	"my-name":  "dashed",
	"space":    "  key-123\n",
	"url":      "a b&c=d/é?#%+",
	"jsonstr":  `"just a string"`,
	"jsonnum":  `-12.5e3`,
	"jsonnull": `null`,
	"jsontrue": `true`,
	"a":        "alpha",
	"b":        "beta",
}

// oracleTemplates are run on oracleInputs by text/template and by
// Template, which must agree: the same output, or both failing.
var oracleTemplates = []string{
	// Text, comments, trim markers.
	"", "plain text\n", "{{/* a comment */}}x", "a  {{- /* c */ -}}  b", "a {{- .s -}} b", "{{ `raw\n` }}",
	"{{\"quoted\\t\\u00e9\"}}", "x{{- 1 }}  {{ 2 -}}  y",
	// Fields, maps, chains, index.
	"{{ .s }}", "{{ . }}", "{{ $ }}", "{{ .db }}", "{{ (json .db).password }}", "{{ (json .db).port }}/{{ (json .db).id }}",
	"{{ (json .db).nested.m }}", "{{ (json .db).nested.k }}", "{{ (json .db).nested.m.a }}", "{{ (json .db).null }}",
	"{{ (json .db).empty }}{{ (json .db).arr }}", "{{ (json .db).t }} {{ (json .db).f }}", "{{ (json .db).big }}",
	"{{ (json .db).nosuch }}", "{{ .nosuch }}", "{{ .s.x }}", "{{ (json .db).null.x }}", "{{ (json .list).x }}",
	"{{ index . \"my-name\" }}", "{{ index . \"nosuch\" }}|", "{{ index (json .db) \"nosuch\" }}", "{{ index (json .db).tags 1 }}",
	"{{ index (json .db) \"nested\" \"k\" 5 \"z\" }}", "{{ index .s 1 }}", "{{ index .s 5 }}", "{{ index .s -1 }}",
	"{{ index (json .list) 7 }}", "{{ index (json .list) 6 }}", "{{ index (json .list) 4 }}", "{{ index (json .list) 4 0 }}",
	"{{ index (json .list) 1.0 }}", "{{ index (json .list) nil }}", "{{ index (json .list) \"1\" }}", "{{ index (json .db) 1 }}",
	"{{ index nil 1 }}", "{{ index 1 1 }}", "{{ index (json .db) }}", "{{ index (json .db).port 0 }}", "{{ index (json .db) (json .db).n }}",
	"{{ index (json .nums) (index \"\\x02\" 0) }}", "{{ index . (index .s 0) }}", "{{ index (json .nums) (json .db).n.Int64 }}",
	"{{ $.s }}", "{{ $x := json .db }}{{ $x.nested.m.b }}", "{{ with $x := json .db }}{{ $x.port }}{{ end }}",
	"{{ .s 1 }}", "{{ 1 | .s }}", "{{ (json .db).port.String }}", "{{ (json .db).port.Int64 }}", "{{ (json .db).port.Float64 }}",
	"{{ (json .db).float.Int64 }}", "{{ (json .db).float.Float64 }}", "{{ (json .db).big.Float64 }}", "{{ (json .db).id.Int64 }}",
	"{{ (json .db).id.Float64 }}", "{{ (json .db).port.Int64 1 }}", "{{ (json .db).port.Nope }}", "{{ (json .db).port.String.x }}",
	"{{ $n := (json .db).port }}{{ $n.Int64 }}", "{{ with (json .db).port }}{{ .Int64 }}{{ .String }}{{ end }}",
	"{{ 3 | (json .db).port.Int64 }}", "{{ printf \"%T\" (json .db).port.Int64 }}", "{{ (json .jsonstr) }}", "{{ json .jsonnum }}",
	"{{ json .jsonnull }}", "{{ json .jsontrue }}", "{{ (json .s).x }}", "{{ json .s }}", "{{ (print).x }}", "{{ trim.x }}",
	"{{ (json .db).nested.k.x }}", "{{ .my-name }}",
	// Functions.
	"{{ b64dec .b64 }}", "{{ b64dec (index . \"raw-b64\") }}", "{{ b64enc .s }}", "{{ b64dec .s }}", "{{ trim .space }}",
	"{{ b64dec (b64enc .ctl) }}", "{{ trim }}", "{{ trim 1 }}", "{{ trim nil }}", "{{ trim (json .db).port }}", "{{ trim (json .db) }}",
	"{{ trim .s .s }}", "{{ .s | trim }}", "{{ .s | b64enc | b64dec }}", "{{ json .db | len }}", "{{ trim (json .jsonstr) }}",
	"{{ trim (json .jsonnull) }}", "{{ nosuch }}",
	// Printing values.
	"{{ 1 }} {{ 1.5 }} {{ 1e3 }} {{ 0x10 }} {{ 0o17 }} {{ 0b101 }} {{ 'a' }} {{ 1_000 }} {{ -7 }} {{ 2i }} {{ 1+2i }}",
	"{{ 0x1p-2 }} {{ 1e100 }} {{ 1.0 }} {{ -0 }} {{ -0.0 }} {{ 0X1F }} {{ '\\n' }} {{ '\\u00e9' }}",
	"{{ 99999999999999999999 }}", "{{ 18446744073709551615 }}", "{{ 9223372036854775807 }}", "{{ 9223372036854775808 }}",
	"{{ -9223372036854775808 }}", "{{ print 99999999999999999999 }}", "{{ not 99999999999999999999 }}",
	"{{ eq 99999999999999999999 nil }}", "{{ 99999999999999999999 | print }}", "{{ printf \"%v\" 18446744073709551615 }}",
	"{{ true }} {{ false }}", "{{ nil }}", "{{ \"s\" }}", "{{ 1 2 }}", "{{ (1) }}", "{{ (1) 2 }}", "{{ . 1 }}", "{{ \"x\" | 1 }}",
	"{{ $x := 1 }}{{ $x 2 }}", "{{ $x := 1 }}{{ 2 | $x }}",
	// print, printf, println.
	"{{ print }}", "{{ print 1 2 }}", "{{ print \"a\" \"b\" }}", "{{ print 1 \"a\" 2 }}", "{{ print nil }}", "{{ print (json .db).null }}",
	"{{ print (json .list) }}", "{{ print (json .db).nested }}", "{{ print . }}", "{{ print 1.5 2i true }}", "{{ println 1 \"a\" nil }}",
	"{{ printf \"%d %s %q %v %x %X %5.2f %-4d| %+d %#v %T\" 42 .s .s (json .list) .s .s 3.14159 7 7 (json .db).nested .s }}",
	"{{ printf \"%v %T\" (json .db).port (json .db).port }}", "{{ printf \"%d\" (json .db).port }}", "{{ printf \"%s\" (json .db).port }}",
	"{{ printf \"%q\" .ctl }}", "{{ printf \"%+q\" .ctl }}", "{{ printf \"%x\" .ctl }}", "{{ printf \"% x\" .s }}", "{{ printf \"%#v\" . }}",
	"{{ printf \"%T %T %T %T %T %T\" 1 1.0 1i true \"s\" nil }}", "{{ printf \"%T\" (index .s 0) }}", "{{ printf \"%T\" (len .s) }}",
	"{{ printf \"%d %d\" 1 }}", "{{ printf \"%d\" 1 2 }}", "{{ printf \"%!\" }}", "{{ printf \"%[2]d %[1]d\" 1 2 }}", "{{ printf \"%[3]d\" 1 }}",
	"{{ printf }}", "{{ printf 1 }}", "{{ printf nil }}", "{{ printf (json .db).port }}", "{{ printf .s }}", "{{ \"%d\" | printf }}",
	"{{ 5 | printf \"%d\" }}", "{{ printf \"%v\" nil }}", "{{ printf \"%s\" nil }}", "{{ printf \"%v\" (json .db).null }}",
	"{{ printf \"%05s|%-6v|%.2s\" .s (json .strs) .s }}", "{{ printf \"%6.2v\" (json .nums) }}", "{{ printf \"%d\" (json .strs) }}",
	"{{ printf \"%v\" (json .db).float.Float64 }}", "{{ printf \"%.3e\" (json .db).float.Float64 }}", "{{ printf \"%c%c\" 72 'i' }}",
	"{{ printf \"%U\" 'x' }}", "{{ printf \"%b %o %O\" 5 8 8 }}", "{{ printf \"%t\" true }}", "{{ printf \"%p\" 1 }}", "{{ printf \"%%\" }}",
	"{{ printf \"%v\" (index .s 0) }}", "{{ printf \"%s\" (slice .s 1 3) }}",
	// Escapers.
	"{{ html .html }}", "{{ html .ctl }}", "{{ html (json .db).u }}", "{{ html 1 \"<\" nil }}", "{{ html nil }}", "{{ html }}", "{{ html (json .db) }}",
	"{{ js .html }}", "{{ js .ctl }}", "{{ js (json .db).u }}", "{{ js 1 \"<\" nil }}", "{{ js \"a=b\\\\c\" }}", "{{ js (json .list) }}",
	"{{ urlquery .url }}", "{{ urlquery .ctl }}", "{{ urlquery 1 \" \" nil }}", "{{ urlquery }}", "{{ .html | html | js | urlquery }}",
	"{{ html (json .db).port }}", "{{ js (json .db).port 2 }}", "{{ html .s }}", "{{ js .s }}", "{{ urlquery .s }}",
	// len, slice.
	"{{ len .s }} {{ len . }} {{ len (json .db) }} {{ len (json .list) }} {{ len (json .db).port }}", "{{ len 1 }}", "{{ len nil }}",
	"{{ len (json .db).null }}", "{{ len (json .db).t }}", "{{ len }}", "{{ len .s .s }}",
	"{{ slice .s }}|{{ slice .s 1 }}|{{ slice .s 1 3 }}|{{ slice .s 5 }}", "{{ slice .s 6 }}", "{{ slice .s 3 1 }}", "{{ slice .s 1 2 3 }}",
	"{{ slice (json .list) 1 3 }}", "{{ slice (json .list) 1 3 5 }}", "{{ slice (json .list) 0 0 }}", "{{ slice (json .list) 0 7 7 }}",
	"{{ slice (json .list) 2 1 }}", "{{ slice (json .list) 0 1 2 3 }}", "{{ slice (json .list) 1 2 1 }}", "{{ slice (json .nums) 0 12 }}",
	"{{ slice (json .nums) 0 10 16 }}", "{{ slice (json .nums) 11 }}", "{{ printf \"%T\" (slice (json .db).port 1) }}", "{{ slice (json .db).port 1 }}",
	"{{ slice nil }}", "{{ slice 1 }}", "{{ slice (json .db) }}", "{{ slice .s nil }}", "{{ slice .s 1.0 }}", "{{ slice .s (index .s 0) }}",
	"{{ len (slice (json .nums) 0 0 3) }}",
	// Truth, and, or, not.
	"{{ and 1 2 }} {{ and 0 2 }} {{ and 1 0 }} {{ or 0 \"\" }} {{ or 0 \"x\" }} {{ or \"x\" 0 }}", "{{ and }}", "{{ or }}",
	"{{ and 0 (index 1 1) }}", "{{ or 1 (index 1 1) }}", "{{ and 1 (index 1 1) }}", "{{ 0 | and 1 }}", "{{ 1 | or 0 }}", "{{ 0 | or }}",
	"{{ \"\" | and 1 (index 1 1) }}", "{{ and nil 1 }}", "{{ or nil }}", "{{ or (json .db).null (json .db).empty (json .db).arr 0 0.0 0i \"\" }}",
	"{{ not 1 }} {{ not 0 }} {{ not nil }} {{ not \"\" }} {{ not (json .db).empty }} {{ not (json .db) }} {{ not (json .db).null }}",
	"{{ not }}", "{{ not 1 2 }}", "{{ if (json .db).f }}t{{ else }}f{{ end }}", "{{ if (json .db).zero }}t{{ else }}f{{ end }}",
	"{{ if 0.0 }}t{{ end }}{{ if 0i }}t{{ end }}{{ if .empty }}t{{ end }}{{ if . }}T{{ end }}{{ if (json .db).arr }}t{{ end }}",
	"{{ if (index .s 0) }}T{{ end }}", "{{ if (json .db).frac }}T{{ end }}", "{{ and (json .db) (json .list) }}",
	// Comparisons.
	"{{ eq 1 1 }} {{ eq 1 2 }} {{ eq 1 2 1 }} {{ eq \"a\" \"a\" }} {{ eq 1.5 1.5 }} {{ eq true true }} {{ eq 1i 1i }}",
	"{{ eq 1 }}", "{{ eq }}", "{{ eq 1 \"1\" }}", "{{ eq 1 1.0 }}", "{{ eq 1 2 \"x\" }}", "{{ eq 1 1 \"x\" }}", "{{ eq nil nil }}",
	"{{ eq nil 1 }}", "{{ eq 1 nil }}", "{{ eq (json .db) nil }}", "{{ eq nil (json .db) }}", "{{ eq (json .db) (json .db) }}",
	"{{ eq (json .db) (json .list) }}", "{{ eq (json .list) 1 }}", "{{ eq (json .db).null nil }}", "{{ eq (json .db).port 5432 }}",
	"{{ eq (json .db).port \"5432\" }}", "{{ eq (json .db).n .num }}", "{{ eq (json .db).port (json .db).port }}",
	"{{ eq (json .db).port.Int64 5432 }}", "{{ eq (index .s 0) 104 }}", "{{ eq 104 (index .s 0) }}", "{{ eq (index .s 0) (index .s 0) }}",
	"{{ eq -1 (index .s 0) }}", "{{ eq (index .s 0) \"h\" }}", "{{ eq . . }}", "{{ eq . nil }}", "{{ eq .s .s \"x\" }}",
	"{{ ne 1 2 }} {{ ne \"a\" \"a\" }} {{ ne nil nil }}", "{{ ne 1 \"a\" }}", "{{ ne 1 }}", "{{ ne 1 2 3 }}",
	"{{ lt 1 2 }} {{ lt 2 1 }} {{ lt \"a\" \"b\" }} {{ lt 1.5 2.5 }} {{ lt (index .s 0) 200 }} {{ lt -1 (index .s 0) }} {{ lt (index .s 0) -1 }}",
	"{{ le 1 1 }} {{ le 2 1 }} {{ gt 2 1 }} {{ gt 1 1 }} {{ ge 1 1 }} {{ ge 0 1 }} {{ le \"b\" \"a\" }} {{ gt \"b\" \"a\" }}",
	"{{ lt true false }}", "{{ lt 1i 2i }}", "{{ lt nil 1 }}", "{{ lt 1 nil }}", "{{ lt 1 1.5 }}", "{{ lt (json .db) 1 }}", "{{ le 1i 1i }}",
	"{{ le true true }}", "{{ gt nil nil }}", "{{ ge \"a\" 1 }}", "{{ lt (json .db).port (json .db).neg }}", "{{ lt (json .db).port \"6\" }}",
	"{{ lt (json .db).port.Int64 6000 }}", "{{ gt (json .db).float.Float64 1.0 }}", "{{ lt (len .s) 10 }}", "{{ lt 1 2 3 }}",
	"{{ le (index .s 0) (index .s 1) }} {{ ge (index .s 1) 104 }}",
	// call.
	"{{ call }}", "{{ call .s }}", "{{ call nil }}", "{{ call (json .db).null }}", "{{ call print }}", "{{ call 1 2 }}",
	// Variables.
	"{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}", "{{ $x := .s }}{{ if true }}{{ $x = \"in\" }}{{ $y := 3 }}{{ end }}{{ $x }}",
	"{{ $x := 1 }}{{ with $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "{{ $x, $y := 1 }}", "{{ $ = 5 }}{{ $ }}",
	"{{ $x := (json .db).null }}{{ $x }}|{{ print $x }}|{{ printf \"%v\" $x }}", "{{ $x := 1 }}{{ $x := 2 }}{{ $x }}",
	"{{ if $x := 0 }}a{{ else }}{{ $x }}{{ end }}", "{{ with $x := \"\" }}a{{ else }}[{{ $x }}]{{ end }}",
	"{{ with $x := 0 }}a{{ else with $y := 1 }}{{ $x }}{{ $y }}{{ end }}",
	// if, with, else if, else with.
	"{{ if .s }}yes{{ end }}", "{{ if .empty }}yes{{ else }}no{{ end }}", "{{ if .empty }}1{{ else if .s }}2{{ else }}3{{ end }}",
	"{{ with .s }}{{ . }}{{ end }}", "{{ with .empty }}x{{ else }}{{ . | len }}{{ end }}", "{{ with json .db }}{{ .username }}@{{ .port }}{{ end }}",
	"{{ with .empty }}1{{ else with .s }}{{ . }}{{ end }}", "{{ with (json .db).null }}x{{ else }}nil{{ end }}",
	"{{ if (json .db).nosuch }}{{ end }}", "{{ with 1 2 }}{{ end }}",
	// range.
	"{{ range (json .db).tags }}{{ . }};{{ end }}", "{{ range $i, $e := json .list }}{{ $i }}={{ $e }};{{ end }}",
	"{{ range $e := json .list }}{{ $e }};{{ end }}", "{{ range json .db }}{{ . }};{{ end }}", "{{ range $k, $v := json .db }}{{ $k }};{{ end }}",
	"{{ range $k, $v := . }}{{ $k }}={{ len $v }};{{ end }}", "{{ range . }}{{ len . }},{{ end }}", "{{ range 5 }}{{ . }}{{ end }}",
	"{{ range $i := 3 }}{{ $i }}{{ end }}", "{{ range $i, $j := 3 }}{{ end }}", "{{ range 0 }}x{{ else }}none{{ end }}", "{{ range -2 }}x{{ else }}neg{{ end }}",
	"{{ range (index .s 0) }}{{ if eq . 3 }}{{ printf \"%T\" . }}{{ break }}{{ end }}{{ end }}", "{{ range (json .db).port.Int64 }}{{ break }}{{ end }}ok",
	"{{ range $x := (json .db).port.Int64 }}{{ if lt $x 3 }}{{ printf \"%T%v\" $x $x }}{{ else }}{{ break }}{{ end }}{{ end }}",
	"{{ range .s }}{{ end }}", "{{ range (json .db).port }}{{ end }}", "{{ range true }}{{ end }}", "{{ range 1.5 }}{{ end }}", "{{ range 1i }}{{ end }}",
	"{{ range nil }}{{ end }}", "{{ range (json .db).null }}x{{ else }}empty{{ end }}", "{{ range (json .db).arr }}x{{ else }}empty{{ end }}",
	"{{ range (json .db).empty }}x{{ else }}empty{{ end }}", "{{ range $i, $e := (json .db).arr }}x{{ else }}[{{ $i }}{{ $e }}]{{ end }}",
	"{{ range $i, $e := json .nums }}{{ if eq $e 3 }}{{ continue }}{{ end }}{{ if gt $e 6 }}{{ break }}{{ end }}{{ $i }}{{ end }}",
	"{{ range json .nums }}{{ range json $.strs }}{{ if eq . \"a\" }}{{ break }}{{ end }}{{ . }}{{ end }}|{{ end }}",
	"{{ range json .nums }}{{ with . }}{{ if gt . 2 }}{{ break }}{{ end }}{{ end }}{{ . }}{{ end }}",
	"{{ $x := 0 }}{{ range $x = json .nums }}{{ end }}{{ $x }}", "{{ $x := 0 }}{{ range $x = json \"[]\" }}{{ end }}{{ $x }}",
	"{{ $i := 0 }}{{ $e := 0 }}{{ range $i, $e = json .strs }}{{ end }}{{ $i }}{{ $e }}", "{{ $x := 9 }}{{ range $x = 3 }}{{ $x }}{{ end }}{{ $x }}",
	"{{ range $i, $e := json .strs }}{{ $j := $i }}{{ $j }}{{ end }}", "{{ range json .db }}{{ end }}{{ range 3 }}{{ $ | len }}{{ end }}",
	"{{ range $v := json .db }}{{ $v := 1 }}{{ $v }}{{ end }}", "{{ range (json .db).nested.k }}[{{ . }}]{{ end }}",
	"{{ range $i, $v := (json .db).nested.k }}{{ printf \"%T\" $v }} {{ end }}", "{{ range (json .list) }}{{ .x }}{{ end }}",
	"{{ range $k, $v := (json .db).nested.m }}{{ $k }}{{ $v }}{{ end }}", "{{ range 3 }}{{ $x := . }}{{ end }}",
	// define, template, block, recursion.
	"{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" .s }}{{ template \"t\" }}", "{{ template \"nosuch\" }}",
	"{{ define \"t\" }}{{ $ }}{{ end }}{{ $x := 1 }}{{ template \"t\" $x }}", "{{ block \"b\" .s }}<{{ . }}>{{ end }}",
	"{{ define \"main\" }}defined main{{ end }}", "{{ define \"x\" }}x{{ end }}", "{{ define \"r\" }}{{ if lt (len .) 5 }}{{ template \"r\" (print . \"x\") }}{{ else }}{{ . }}{{ end }}{{ end }}{{ template \"r\" \"\" }}",
	"{{ define \"a\" }}{{ template \"a\" }}{{ end }}{{ template \"a\" }}", "{{ define \"t\" }}{{ .nosuch }}{{ end }}{{ template \"t\" . }}",
	"{{ define \"t\" }}{{ .x }}{{ end }}{{ template \"t\" (json .db).nested.k }}", "{{ template \"t\" $y := 1 }}{{ $y }}{{ define \"t\" }}t{{ end }}",
	"{{ range 3 }}{{ template \"i\" . }}{{ end }}{{ define \"i\" }}({{ . }}){{ end }}",
	// Odd corners.
	"{{ ($x := json .db).port }}{{ $x.username }}", "{{ (json .db).nested.k | len }}", "{{ 0x1.8p1 }} {{ 1e-3 }} {{ .5 }} {{ -.5 }} {{ +1 }} {{ 0777 }}",
	"{{ '\\x41' }} {{ '\\'' }} {{ '\\u00e9' | printf \"%c\" }}", "{{ eq (json .db).port.Int64 (len .s) }} {{ lt (len .s) (json .db).port.Int64 }}",
	"{{ slice (slice (json .nums) 0 2) 0 8 }}", "{{ index (slice (json .nums) 0 2 5) 4 }}", "{{ len (slice (json .nums) 1 2 5) }}",
	"{{ range $c := .s }}{{ end }}", "{{ range $k, $v := . }}{{ if eq $k \"s\" }}{{ $v }}{{ break }}{{ end }}{{ end }}",
	"{{ with $x := json .list }}{{ range $x }}{{ with . }}{{ . }}{{ else }}-{{ end }}{{ end }}{{ end }}",
	"{{ printf \"%v|%s|%d\" (json .db).nested.k (json .db).nested.k (json .db).nested.k }}", "{{ print (json .db).nested.k }}",
	"{{ html (json .db).nested }}{{ js (json .db).nested }}{{ urlquery (json .db).nested }}", "{{ println }}", "{{ println (json .list) . }}",
	"{{ template \"t\" }}{{ define \"t\" }}{{ $ }}|{{ . }}|{{ print . }}{{ end }}", "{{ and (json .db).t (json .db).f }} {{ or (json .db).f (json .db).zero }}",
	"{{ index (json .db).u 0 }} {{ len (json .db).u }} {{ slice (json .db).u 0 2 | printf \"%q\" }}", "{{ (json .db).dec }} {{ (json .db).dec.Float64 }}",
	"{{ if and (json .db).port (gt (len .s) 2) }}yes{{ end }}", "{{ range $i, $_ := json .strs }}{{ $i }}{{ end }}", "{{ $_ := 1 }}{{ $_ }}",
	// Parse errors.
	"{{ .db ", "{{ end }}", "{{ if }}{{ end }}", "{{ $x }}", "{{ break }}", "{{ range 1 }}{{ break 1 }}{{ end }}", "{{ define \"x\" }}a{{ end }}{{ define \"x\" }}b{{ end }}",
	"{{ 1.2.3 }}", "{{ \"a\".x }}", "{{ nil.x }}", "{{ 1e400 }}", "{{ .a.b c }}", "{{ else }}", "{{ (1 }}", "{{ define \"main\" }}x{{ end }}y",
}

// oracleFuncs are Template's functions for text/template, without limits.
func oracleFuncs() template.FuncMap {
	m := template.FuncMap{}
	for name, f := range templateFuncs(1 << 40) {
		m[name] = f
	}
	return m
}

// cappedBuffer fails writes past its capacity, so that the oracle stops
// where a limit stops Template.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errors.New("oracle output limit")
	}
	return b.Buffer.Write(p)
}

// runOracle runs text in text/template as Template did before it used
// internal/tmpl.
func runOracle(text string, data map[string]string, max int) (out []byte, parseErr, execErr error) {
	t, err := template.New(templateName).Option("missingkey=error").Funcs(oracleFuncs()).Parse(text)
	if err != nil {
		return nil, err, nil
	}
	defer func() {
		if r := recover(); r != nil {
			out, execErr = nil, fmt.Errorf("text/template panicked: %v", r)
		}
	}()
	buf := &cappedBuffer{max: max}
	if err := t.Execute(buf, data); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), nil, nil
}

// checkAgainstOracle runs text over data in internal/tmpl (with Template's
// functions and limit) and in text/template. Both must reject it at
// parse with the same message, or both fail, or both give the same bytes.
// A run stopped by its deadline, or refused by a limit or for a '*'
// width, is not compared (text/template has no such bounds). An error must
// not hold an input value that the template text does not.
func checkAgainstOracle(t *testing.T, text string, data map[string]string, timeout time.Duration) {
	t.Helper()
	const limit = 1 << 20
	_, oracleParseErr := template.New(templateName).Funcs(oracleFuncs()).Parse(text)
	tm, err := tmpl.Parse(templateName, text, templateFuncs(limit))
	if oracleParseErr != nil || err != nil {
		if oracleParseErr == nil || err == nil || err.Error() != oracleParseErr.Error() {
			t.Fatalf("template %q: parse error %v, text/template's %v", text, err, oracleParseErr)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	got, err := tm.Execute(ctx, data, limit)
	if err != nil {
		if _, ok := errors.AsType[*tmpl.LimitError](err); ok || errors.Is(err, tmpl.ErrUnbounded) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		for name, v := range data {
			if telling(v, text, name, data) && strings.Contains(err.Error(), v) {
				t.Errorf("template %q: error holds the value %q: %v", text, v, err)
			}
		}
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, _, err := runOracle(text, data, limit)
		done <- result{out, err}
	}()
	var want []byte
	var oracleErr error
	select {
	case r := <-done:
		want, oracleErr = r.out, r.err
	case <-time.After(30*time.Second + 50*timeout):
		// text/template cannot be stopped; it is left running.
		t.Fatalf("template %q: text/template still running long after Template ended with %v", text, err)
	}
	switch {
	case oracleErr == nil && err != nil:
		t.Errorf("template %q: failed with %v; text/template printed %q", text, err, want)
	case oracleErr == nil && !bytes.Equal(got, want) && !sameButAddresses(text, data, got, want):
		t.Errorf("template %q:\n got %q\nwant %q", text, got, want)
	case oracleErr != nil && err == nil:
		t.Errorf("template %q: printed %q; text/template failed with %v", text, got, oracleErr)
	}
}

// pointerVerb matches a %p verb, which prints the address of a map or slice.
var pointerVerb = regexp.MustCompile(`%[-+# 0-9.\[\]]*p`)

// address matches what %p and %#p print.
var address = regexp.MustCompile(`(0x)?[0-9a-f]{6,}`)

// sameButAddresses reports whether got and want differ only in addresses,
// where a %p verb in the template or the data could have printed them.
func sameButAddresses(text string, data map[string]string, got, want []byte) bool {
	found := pointerVerb.MatchString(text)
	for _, v := range data {
		found = found || pointerVerb.MatchString(v)
	}
	return found && bytes.Equal(address.ReplaceAll(got, []byte("ADDR")), address.ReplaceAll(want, []byte("ADDR")))
}

// telling reports whether finding the input value v in an error would
// show a leak: it is long enough, the template text does not hold it, no
// other input holds it (an error may name a JSON key), and it could not be
// made of the words of a message by chance (it has a byte that messages
// built from ASCII template text and type names lack, or is long).
func telling(v, text, name string, data map[string]string) bool {
	if len(v) < minScrubLen || strings.Contains(text, v) {
		return false
	}
	for other, w := range data {
		if other != name && strings.Contains(w, v) {
			return false
		}
	}
	if len(v) >= 24 {
		return true
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x7f || v[i] < ' ' {
			return true
		}
	}
	return false
}

// TestTemplateMatchesTextTemplate: Template's output is text/template's
// for every template in the table, over every shape of input.
func TestTemplateMatchesTextTemplate(t *testing.T) {
	for _, text := range oracleTemplates {
		t.Run(text, func(t *testing.T) {
			checkAgainstOracle(t, text, oracleInputs, 10*time.Second)
		})
	}
}

// FuzzTemplate checks random templates and inputs against text/template.
// The inputs a and b are added to oracleInputs.
func FuzzTemplate(f *testing.F) {
	for _, text := range oracleTemplates {
		f.Add(text, "alpha", `{"x":[1,"2",null]}`)
	}
	f.Add(`{{ (json .a).x }}{{ range json .b }}{{ . }}{{ end }}`, `{"x":1e2}`, `[1,2]`)
	f.Add(`{{ index (json .a) (json .b).n.Int64 }}`, `["s3cr3t-value"]`, `{"n":7}`)
	f.Fuzz(func(t *testing.T, text, a, b string) {
		data := make(map[string]string, len(oracleInputs)+2)
		for k, v := range oracleInputs {
			data[k] = v
		}
		data["a"], data["b"] = a, b
		checkAgainstOracle(t, text, data, 200*time.Millisecond)
	})
}
