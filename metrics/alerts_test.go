package metrics_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/signingd/signingd/metrics"
	"github.com/signingd/signingd/store/dbtest"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var metricName = regexp.MustCompile(`\b(signingd_[a-z_]+)`)

// TestAlertRules parses the sample alert rules and checks that each is complete and names only
// metrics signingd exports, so a renamed metric cannot silently disarm an alert.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	var rf ruleFile
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	exported := exportedNames(t)
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q lacks alert, expr or summary", r.Alert)
			}
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("rule %q: severity %q", r.Alert, r.Labels["severity"])
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("rule %q: for %q: %v", r.Alert, r.For, err)
				}
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("rule %q: unbalanced parentheses", r.Alert)
			}
			for _, m := range metricName.FindAllString(r.Expr+" "+r.Annotations["description"], -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				if !exported[base] {
					t.Errorf("rule %q names %s, which signingd does not export", r.Alert, m)
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d rules", n)
	}
}

// exportedNames lists every metric family signingd can expose, including the database collector's.
func exportedNames(t *testing.T) map[string]bool {
	m := metrics.New()
	m.RegisterDatabase(dbtest.Pool(t))
	// Touch the vectors so that they appear in a gather.
	m.TransactionFinished("aborted", "technical")
	m.StepRan("fetch", "retry", time.Millisecond)
	m.TokenIssued()
	m.TokenRefused("invalid_client")
	m.NotificationPublished("OndertekenenVoltooid")
	m.Transport(nil)
	names := map[string]bool{}
	ch := make(chan *prometheus.Desc, 100)
	go func() { m.Registry().Describe(ch); close(ch) }()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if s := fq.FindStringSubmatch(d.String()); s != nil {
			names[s[1]] = true
		}
	}
	return names
}
