package kubernetes

import (
	"fmt"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// serviceMonitor is monitoring.coreos.com/v1 ServiceMonitor as far as the
// manifests use it, field names as in the Prometheus Operator's CRD
// (pkg/apis/monitoring/v1/servicemonitor_types.go). A field the manifests
// add must be added here, or decoding fails.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		JobLabel  string               `json:"jobLabel"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// objects is one rendered kustomization, every object decoded into its
// API type, by kind and name.
type objects struct {
	Deployments     map[string]*appsv1.Deployment
	Services        map[string]*corev1.Service
	ConfigMaps      map[string]*corev1.ConfigMap
	Secrets         map[string]*corev1.Secret
	ServiceAccounts map[string]*corev1.ServiceAccount
	Namespaces      map[string]*corev1.Namespace
	HPAs            map[string]*autoscalingv2.HorizontalPodAutoscaler
	PDBs            map[string]*policyv1.PodDisruptionBudget
	NetworkPolicies map[string]*networkingv1.NetworkPolicy
	ServiceMonitors map[string]*serviceMonitor
}

// render builds the kustomization in dir as `kubectl kustomize` does (same
// library) and decodes each object strictly: a field its type lacks, a
// duplicate field or a kind not listed here fails.
func render(t *testing.T, dir string) *objects {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	o := &objects{
		Deployments: map[string]*appsv1.Deployment{}, Services: map[string]*corev1.Service{},
		ConfigMaps: map[string]*corev1.ConfigMap{}, Secrets: map[string]*corev1.Secret{},
		ServiceAccounts: map[string]*corev1.ServiceAccount{}, Namespaces: map[string]*corev1.Namespace{},
		HPAs: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, PDBs: map[string]*policyv1.PodDisruptionBudget{},
		NetworkPolicies: map[string]*networkingv1.NetworkPolicy{}, ServiceMonitors: map[string]*serviceMonitor{},
	}
	for _, r := range resources.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		gvk, name := r.GetGvk(), r.GetName()
		var into any
		switch fmt.Sprintf("%s/%s %s", gvk.Group, gvk.Version, gvk.Kind) {
		case "apps/v1 Deployment":
			into = add(o.Deployments, name)
		case "/v1 Service":
			into = add(o.Services, name)
		case "/v1 ConfigMap":
			into = add(o.ConfigMaps, name)
		case "/v1 Secret":
			into = add(o.Secrets, name)
		case "/v1 ServiceAccount":
			into = add(o.ServiceAccounts, name)
		case "/v1 Namespace":
			into = add(o.Namespaces, name)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			into = add(o.HPAs, name)
		case "policy/v1 PodDisruptionBudget":
			into = add(o.PDBs, name)
		case "networking.k8s.io/v1 NetworkPolicy":
			into = add(o.NetworkPolicies, name)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			into = add(o.ServiceMonitors, name)
		default:
			t.Fatalf("%s: %s %s has no type in this test: add one", dir, gvk, name)
		}
		if err := yaml.UnmarshalStrict(b, into); err != nil {
			t.Errorf("%s: %s %s: %v", filepath.Base(dir), gvk.Kind, name, err)
		}
	}
	return o
}

func add[T any](m map[string]*T, name string) *T {
	v := new(T)
	m[name] = v
	return v
}

// deploymentOf returns the Deployment whose pods sel selects, or nil.
func (o *objects) deploymentOf(sel *metav1.LabelSelector) *appsv1.Deployment {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return nil
	}
	for _, d := range o.Deployments {
		if s.Matches(labels.Set(d.Spec.Template.Labels)) {
			return d
		}
	}
	return nil
}
