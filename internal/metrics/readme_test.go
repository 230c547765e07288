package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeTable holds README's metrics table to the registry: every
// wxoa_ family a scrape has is in the table with exactly its labels, and
// the table names nothing the scrape lacks.
func TestReadmeTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := readmeMetrics(t, string(readme))
	_, fams := scrape(t, driven(t))
	for name, f := range fams {
		if !strings.HasPrefix(name, "wxoa_") {
			continue
		}
		var got []string
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !slices.Contains(got, lp.GetName()) {
					got = append(got, lp.GetName())
				}
			}
		}
		slices.Sort(got)
		want, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("%s (labels %q) is not in README's metrics table", name, got)
		case !slices.Equal(got, want):
			t.Errorf("README gives %s the labels %q; it has %q", name, want, got)
		}
	}
	for name := range documented {
		if _, ok := fams[name]; !ok {
			t.Errorf("README's metrics table lists %s; the registry has no such family", name)
		}
	}
}

var code = regexp.MustCompile("`([^`]*)`")

// readmeMetrics reads the table under "## Metrics": each row's names with
// their sorted labels. A row may name several metrics: `wxoa_x_a`, `_b`
// is wxoa_x_a and wxoa_x_b; labels `p`, `q` / `r` give the first name p
// and q, the second p and r.
func readmeMetrics(t *testing.T, readme string) map[string][]string {
	_, section, ok := strings.Cut(readme, "\n## Metrics\n")
	if !ok {
		t.Fatal(`README has no "## Metrics" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	out := map[string][]string{}
	for line := range strings.Lines(section) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) != 5 || !strings.Contains(cells[1], "`wxoa_") {
			continue
		}
		var names []string
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			n := m[1]
			if strings.HasPrefix(n, "_") {
				first := names[0]
				n = first[:strings.LastIndex(first, "_")] + n
			}
			names = append(names, n)
		}
		alts := strings.Split(cells[2], " / ")
		var common []string
		for _, m := range code.FindAllStringSubmatch(alts[0], -1) {
			common = append(common, m[1])
		}
		for i, n := range names {
			labels := slices.Clone(common)
			if i > 0 && i < len(alts) {
				labels = labels[:len(labels)-1]
				for _, m := range code.FindAllStringSubmatch(alts[i], -1) {
					labels = append(labels, m[1])
				}
			}
			slices.Sort(labels)
			out[n] = labels
		}
	}
	if len(out) < 10 {
		t.Fatalf("read %d metrics from README's table; its format changed?\n%v", len(out), out)
	}
	return out
}
