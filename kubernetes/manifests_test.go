package kubernetes

import (
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestManifests renders the base and every overlay and checks the objects
// against their API types, against each other (selectors, ports), and
// against the services themselves: the variables, defaults and ports
// their --help declares, and the endpoints of the running binaries.
func TestManifests(t *testing.T) {
	services := buildServices(t)
	overlays, err := filepath.Glob("overlays/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(overlays) == 0 {
		t.Fatal("no overlays")
	}
	for _, dir := range append([]string{"base"}, overlays...) {
		t.Run(dir, func(t *testing.T) {
			o := render(t, dir)
			for _, s := range services {
				d := o.Deployments[s.name]
				if d == nil {
					t.Fatalf("no Deployment %s", s.name)
				}
				checkService(t, o, d, s)
			}
			for _, d := range o.Deployments {
				checkPodSecurity(t, d)
			}
			checkServices(t, o)
			checkScaling(t, o)
			checkNetworkPolicies(t, o)
			checkServiceMonitors(t, o)
		})
	}
}

// checkPodSecurity: non-root, no privilege escalation, read-only root,
// no capabilities, requests and a memory limit, probes on real ports.
func checkPodSecurity(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || !isTrue(pod.SecurityContext.RunAsNonRoot) {
		t.Errorf("%s: runAsNonRoot is not set", d.Name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted", d.Name)
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil || !isTrue(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%s/%s: want a read-only root, no privilege escalation, capabilities dropped: %+v", d.Name, c.Name, sc)
		}
		r := c.Resources
		if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: want CPU and memory requests and a memory limit: %+v", d.Name, c.Name, r)
		}
		for what, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s/%s: no HTTP %s probe", d.Name, c.Name, what)
				continue
			}
			if containerPort(d, p.HTTPGet.Port) == 0 {
				t.Errorf("%s/%s: %s probe on port %s, which no container has", d.Name, c.Name, what, p.HTTPGet.Port.String())
			}
		}
	}
}

// checkServices: each Service selects a Deployment's pods and sends to
// ports they have; an S3_ENDPOINT naming a Service matches its port.
func checkServices(t *testing.T, o *objects) {
	t.Helper()
	for _, s := range o.Services {
		d := o.deploymentOf(&metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if d == nil {
			t.Errorf("Service %s selects no Deployment's pods", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if containerPort(d, p.TargetPort) == 0 {
				t.Errorf("Service %s: target port %s is not a port of %s", s.Name, p.TargetPort.String(), d.Name)
			}
		}
	}
	for _, cm := range o.ConfigMaps {
		host, port, err := net.SplitHostPort(cm.Data["S3_ENDPOINT"])
		if err != nil || strings.Contains(host, ".") {
			continue // not a Service of this kustomization
		}
		s := o.Services[host]
		if s == nil || !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return strconv.Itoa(int(p.Port)) == port }) {
			t.Errorf("S3_ENDPOINT %s: no such Service and port", cm.Data["S3_ENDPOINT"])
		}
	}
}

// checkScaling: the HorizontalPodAutoscaler scales the predictors, which
// then set no replica count of their own, and never the trainer; the
// PodDisruptionBudget covers the predictors.
func checkScaling(t *testing.T, o *objects) {
	t.Helper()
	if len(o.HPAs) != 1 || len(o.PDBs) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers and %d PodDisruptionBudgets, want one each", len(o.HPAs), len(o.PDBs))
	}
	for _, h := range o.HPAs {
		ref := h.Spec.ScaleTargetRef
		d := o.Deployments[ref.Name]
		if ref.Kind != "Deployment" || d == nil || d.Name != "predictor" {
			t.Errorf("HorizontalPodAutoscaler %s scales %s %s, want the predictor Deployment", h.Name, ref.Kind, ref.Name)
			continue
		}
		if d.Spec.Replicas != nil {
			t.Errorf("predictor sets replicas: %d, which the HorizontalPodAutoscaler owns", *d.Spec.Replicas)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: replicas %v to %d", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
	}
	for _, p := range o.PDBs {
		if d := o.deploymentOf(p.Spec.Selector); d == nil || d.Name != "predictor" {
			t.Errorf("PodDisruptionBudget %s does not select the predictors", p.Name)
		}
	}
}

// checkNetworkPolicies: each selects a Deployment and opens ports it has;
// the predictors take traffic from anywhere, the trainer and S3 only from
// named sources.
func checkNetworkPolicies(t *testing.T, o *objects) {
	t.Helper()
	covered := map[string]bool{}
	for _, np := range o.NetworkPolicies {
		d := o.deploymentOf(&np.Spec.PodSelector)
		if d == nil {
			t.Errorf("NetworkPolicy %s selects no Deployment's pods", np.Name)
			continue
		}
		covered[d.Name] = true
		open := false
		for _, rule := range np.Spec.Ingress {
			open = open || len(rule.From) == 0 || slices.ContainsFunc(rule.From, openPeer)
			for _, p := range rule.Ports {
				if p.Port == nil || containerPort(d, *p.Port) == 0 {
					t.Errorf("NetworkPolicy %s opens port %v, which %s does not have", np.Name, p.Port, d.Name)
				}
			}
		}
		if want := d.Name == "predictor"; open != want {
			t.Errorf("NetworkPolicy %s: open to every source %v, want %v", np.Name, open, want)
		}
	}
	for name := range o.Deployments {
		if !covered[name] {
			t.Errorf("no NetworkPolicy for %s", name)
		}
	}
}

// checkServiceMonitors: a ServiceMonitor selects the trainer and
// predictor Services, scrapes a port they have at the path the pods'
// annotations name, and takes the job label the alert rules expect.
func checkServiceMonitors(t *testing.T, o *objects) {
	t.Helper()
	for _, sm := range o.ServiceMonitors {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		var jobs []string
		for _, s := range o.Services {
			if !sel.Matches(labels.Set(s.Labels)) {
				continue
			}
			jobs = append(jobs, s.Labels[sm.Spec.JobLabel])
			d := o.deploymentOf(&metav1.LabelSelector{MatchLabels: s.Spec.Selector})
			for _, e := range sm.Spec.Endpoints {
				if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port }) {
					t.Errorf("ServiceMonitor %s: Service %s has no port %q", sm.Name, s.Name, e.Port)
				}
				if want := d.Spec.Template.Annotations["prometheus.io/path"]; e.Path != want {
					t.Errorf("ServiceMonitor %s scrapes %s, the pods of %s say %s", sm.Name, e.Path, s.Name, want)
				}
			}
		}
		slices.Sort(jobs)
		if !slices.Equal(jobs, []string{"predictor", "trainer"}) {
			t.Errorf("ServiceMonitor %s: jobs %v, want predictor and trainer (the alert rules' job labels)", sm.Name, jobs)
		}
	}
}

// openPeer reports whether a NetworkPolicy source lets in every pod or
// address.
func openPeer(p networkingv1.NetworkPolicyPeer) bool {
	everywhere := func(s *metav1.LabelSelector) bool {
		return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
	}
	switch {
	case p.IPBlock != nil:
		return p.IPBlock.CIDR == "0.0.0.0/0" || p.IPBlock.CIDR == "::/0"
	case p.NamespaceSelector != nil:
		return everywhere(p.NamespaceSelector) && (p.PodSelector == nil || everywhere(p.PodSelector))
	default:
		return p.PodSelector == nil
	}
}

// containerPort resolves a port by name or number among d's containers;
// 0 when none has it.
func containerPort(d *appsv1.Deployment, p intstr.IntOrString) int32 {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, cp := range c.Ports {
			if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

func isTrue(b *bool) bool { return b != nil && *b }
