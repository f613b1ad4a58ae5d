// Package helm holds the Helm chart of signingd (deploy/helm/signingd) and its test: the chart is
// rendered with the Helm library, every manifest decoded strictly into the Kubernetes API types,
// and linted as `helm lint` does.
package helm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "signingd"

// full is a set of values that turns everything on.
var full = map[string]any{
	"secret":                 map[string]any{"name": "signingd-secrets"},
	"replicaCount":           3,
	"ingress":                map[string]any{"enabled": true, "className": "nginx", "host": "ondertekenen.gemeente.nl", "tls": map[string]any{"secretName": "ondertekenen-tls"}},
	"serviceMonitor":         map[string]any{"enabled": true},
	"prometheusRule":         map[string]any{"enabled": true},
	"extraEnvFrom":           []any{map[string]any{"configMapRef": map[string]any{"name": "extra"}}},
	"imagePullSecrets":       []any{map[string]any{"name": "registry"}},
	"landscape":              "organisations:\n  - rsin: \"002220647\"\n    name: Gemeente Voorbeeld\n    provider: builtin\n",
	"podAnnotations":         map[string]any{"example.nl/team": "zaakgericht"},
	"nodeSelector":           map[string]any{"kubernetes.io/os": "linux"},
	"env":                    map[string]any{"PUBLIC_URL": "https://ondertekenen.gemeente.nl", "TRUSTED_PROXIES": "10.0.0.0/8", "WORKERS": "20"},
	"shutdownTimeoutSeconds": 45,
}

// minimal is what an install needs at the least: the Secret's name.
var minimal = map[string]any{"secret": map[string]any{"name": "signingd-secrets"}}

func render(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := util.ToRenderValues(ch, vals, common.ReleaseOptions{Name: "signingd", Namespace: "gemeente", Revision: 2, IsUpgrade: true},
		common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, rv)
}

// manifests splits the rendered templates into their documents, by kind.
func manifests(t *testing.T, out map[string]string) map[string][][]byte {
	t.Helper()
	byKind := map[string][][]byte{}
	for name, text := range out {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for _, doc := range strings.Split(text, "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			j, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s: not YAML: %v\n%s", name, err, doc)
			}
			var head struct{ Kind string }
			if err := json.Unmarshal(j, &head); err != nil || head.Kind == "" {
				t.Fatalf("%s: no kind: %v\n%s", name, err, doc)
			}
			byKind[head.Kind] = append(byKind[head.Kind], j)
		}
	}
	return byKind
}

// strict decodes j into v, failing on any field the Kubernetes type lacks.
func strict(t *testing.T, j []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(j))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%T: %v\n%s", v, err, j)
	}
}

// TestChartRenders renders the chart with the defaults and with everything on; every manifest
// decodes strictly into its Kubernetes type, the pods run as non-root on a read-only root
// filesystem with the health probes, their grace outlasts SHUTDOWN_TIMEOUT, and no secret value
// is in any manifest: they come from the named Secret.
func TestChartRenders(t *testing.T) {
	for _, tt := range []struct {
		name  string
		vals  map[string]any
		kinds []string
	}{
		{"minimal", minimal, []string{"ConfigMap", "Deployment", "Job", "PodDisruptionBudget", "Service"}},
		{"full", full, []string{"ConfigMap", "Deployment", "Ingress", "Job", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceMonitor"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := render(t, tt.vals)
			if err != nil {
				t.Fatal(err)
			}
			byKind := manifests(t, out)
			var kinds []string
			for k := range byKind {
				kinds = append(kinds, k)
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, tt.kinds) {
				t.Errorf("kinds %v, want %v", kinds, tt.kinds)
			}
			for kind, docs := range byKind {
				for _, j := range docs {
					switch kind {
					case "Deployment":
						var d appsv1.Deployment
						strict(t, j, &d)
						checkPod(t, d.Spec.Template.Spec, tt.vals)
					case "Job":
						var job batchv1.Job
						strict(t, j, &job)
						if job.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" || job.Spec.Template.Spec.Containers[0].Args[0] != "migrate" {
							t.Errorf("migration job: hook %q, args %v", job.Annotations["helm.sh/hook"], job.Spec.Template.Spec.Containers[0].Args)
						}
						checkSecurity(t, "migrate", job.Spec.Template.Spec, job.Spec.Template.Spec.Containers[0])
					case "Service":
						strict(t, j, &corev1.Service{})
					case "ConfigMap":
						var cm corev1.ConfigMap
						strict(t, j, &cm)
						if !strings.Contains(cm.Data["landscape.yaml"], "organisations:") {
							t.Errorf("landscape ConfigMap: %q", cm.Data["landscape.yaml"])
						}
					case "Ingress":
						var in networkingv1.Ingress
						strict(t, j, &in)
						if len(in.Spec.TLS) != 1 || in.Spec.Rules[0].Host != "ondertekenen.gemeente.nl" {
							t.Errorf("ingress %+v", in.Spec)
						}
					case "PodDisruptionBudget":
						strict(t, j, &policyv1.PodDisruptionBudget{})
					case "ServiceMonitor", "PrometheusRule":
						var cr struct {
							APIVersion string         `json:"apiVersion"`
							Kind       string         `json:"kind"`
							Metadata   map[string]any `json:"metadata"`
							Spec       map[string]any `json:"spec"`
						}
						strict(t, j, &cr)
						if cr.APIVersion != "monitoring.coreos.com/v1" || len(cr.Spec) == 0 {
							t.Errorf("%s: %+v", kind, cr)
						}
						if kind == "PrometheusRule" && !strings.Contains(string(j), "SigningdDown") {
							t.Error("the PrometheusRule lacks the alerts of deploy/prometheus/alerts.yml")
						}
					default:
						t.Errorf("unexpected kind %s", kind)
					}
				}
			}
			for name, text := range out {
				if strings.Contains(text, "kind: Secret\n") {
					t.Errorf("%s makes a Secret: secrets are referenced, never rendered", name)
				}
			}
		})
	}
}

func checkPod(t *testing.T, pod corev1.PodSpec, vals map[string]any) {
	t.Helper()
	c := pod.Containers[0]
	checkSecurity(t, "signingd", pod, c)
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes: liveness %+v, readiness %+v", c.LivenessProbe, c.ReadinessProbe)
	}
	shutdown := 30
	if v, ok := vals["shutdownTimeoutSeconds"].(int); ok {
		shutdown = v
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["SHUTDOWN_TIMEOUT"] != fmt.Sprintf("%ds", shutdown) || pod.TerminationGracePeriodSeconds == nil || int(*pod.TerminationGracePeriodSeconds) <= shutdown {
		t.Errorf("SHUTDOWN_TIMEOUT %q, grace %v: the pod must outlast the drain", env["SHUTDOWN_TIMEOUT"], pod.TerminationGracePeriodSeconds)
	}
	if env["CONFIG_FILE"] != "/etc/signingd/landscape.yaml" || env["MIGRATE_ON_START"] != "false" {
		t.Errorf("env %v", env)
	}
	for _, secret := range []string{"DATABASE_URL", "SECRET_KEY", "KEY_ENCRYPTION_KEY"} {
		if _, ok := env[secret]; ok {
			t.Errorf("%s is a plain env value; it belongs in the Secret", secret)
		}
	}
	if len(c.EnvFrom) == 0 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "signingd-secrets" {
		t.Errorf("envFrom %+v, want the Secret signingd-secrets first", c.EnvFrom)
	}
	tmp := false
	for _, m := range c.VolumeMounts {
		tmp = tmp || m.MountPath == "/tmp"
	}
	if !tmp {
		t.Error("no writable /tmp: documents are spooled there and the root filesystem is read-only")
	}
}

func checkSecurity(t *testing.T, name string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	ps, cs := pod.SecurityContext, c.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 {
		t.Errorf("%s: pod security context %+v: want non-root", name, ps)
	}
	if cs == nil || cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.Capabilities == nil || !slices.Contains(cs.Capabilities.Drop, "ALL") {
		t.Errorf("%s: container security context %+v: want a read-only root, no privilege escalation, every capability dropped", name, cs)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted; signingd does not talk to Kubernetes", name)
	}
}

// TestChartRefuses: no Secret named is an error naming secret.name; a secret put in the plain env
// is refused, naming where it belongs.
func TestChartRefuses(t *testing.T) {
	if _, err := render(t, map[string]any{}); err == nil || !strings.Contains(err.Error(), "secret.name") {
		t.Errorf("without secret.name: %v", err)
	}
	vals := map[string]any{"secret": map[string]any{"name": "s"}, "env": map[string]any{"SECRET_KEY": "oops"}}
	if _, err := render(t, vals); err == nil || !strings.Contains(err.Error(), "SECRET_KEY") {
		t.Errorf("SECRET_KEY in env: %v", err)
	}
}

// TestChartLint runs the linter `helm lint` runs, with the full values: no errors, no warnings.
func TestChartLint(t *testing.T) {
	l := lint.RunAll(chartDir, full, "gemeente")
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m)
		}
	}
}
