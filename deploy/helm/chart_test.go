package helm

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// helm lint --strict passes with the defaults and with every ci/ values file.
func TestLintStrict(t *testing.T) {
	for _, f := range append([]string{""}, ciValues(t)...) {
		args := []string{"lint", "--strict", chartDir}
		if f != "" {
			args = append(args, "-f", f)
		}
		out, err := runHelm(t, args...)
		require.NoError(t, err, "helm %s:\n%s", strings.Join(args, " "), out)
		assert.Contains(t, out, "1 chart(s) linted, 0 chart(s) failed", f)
	}
}

// Every object each values file renders decodes strictly into its
// Kubernetes type, and each mode or part renders what it promises.
func TestTemplateDecodesStrictly(t *testing.T) {
	checks := map[string]func(*testing.T, []object){
		"defaults":                       checkEmbedded,
		"embedded-values.yaml":           checkEmbedded,
		"scaleout-values.yaml":           checkScaleOut,
		"hpa-values.yaml":                checkHPA,
		"ingress-values.yaml":            checkIngressCertManager,
		"ingress-secret-values.yaml":     checkIngressSecret,
		"servicemonitor-values.yaml":     checkServiceMonitor,
		"admission-values.yaml":          checkAdmissionCertManager,
		"admission-cabundle-values.yaml": checkAdmissionCABundle,
		"existing-secrets-values.yaml":   checkExistingSecrets,
	}
	files := append([]string{""}, ciValues(t)...)
	for _, f := range files {
		name, vals := "defaults", []string(nil)
		if f != "" {
			name, vals = filepath.Base(f), []string{f}
		}
		t.Run(name, func(t *testing.T) {
			objs := render(t, vals)
			for _, o := range objs {
				_, err := decodeStrict(o)
				assert.NoError(t, err)
			}
			check, ok := checks[name]
			require.True(t, ok, "%s has no check in this test: add one", f)
			check(t, objs)
		})
	}
}

// The strict decoding this test relies on does fail on a field the type
// lacks, and on a wrong type.
func TestDecodeStrictRefusesUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: http}]}\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoint: []}\n",
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n",
	} {
		objs := splitManifests(t, doc)
		require.Len(t, objs, 1)
		_, err := decodeStrict(objs[0])
		assert.Error(t, err, doc)
	}
}

// values.schema.json refuses a wrong type naming the field.
func TestSchemaRejectsWrongTypes(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"replicas=abc", "at '/replicas': got string, want integer"},
		{"mode=cluster", "at '/mode': value must be one of 'embedded', 'scaleout'"},
		{"service.port=99999", "at '/service/port'"},
		{"admission.failurePolicy=Sometimes", "at '/admission/failurePolicy'"},
		{"persistence.size=lots", "at '/persistence/size'"},
		{"replica=3", "additional properties 'replica' not allowed"},
	} {
		out, err := runHelm(t, "template", "r", chartDir, "--set", tc.set)
		require.Error(t, err, "--set %s was accepted", tc.set)
		assert.Contains(t, out, "values don't meet the specifications of the schema", tc.set)
		assert.Contains(t, out, tc.want, tc.set)
	}
}

// Combinations that cannot run fail at template time with what to set.
func TestTemplateRefusesIncompleteValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"mode=scaleout", "s3.bucket=b"}, "database.existingSecret is required"},
		{[]string{"mode=scaleout", "database.existingSecret=pg"}, "s3.bucket is required"},
		{[]string{"admission.enabled=true"}, "set tls.existingSecret or tls.certManager.issuerName"},
		{[]string{"admission.enabled=true", "tls.existingSecret=t"}, "set admission.caBundle"},
		{[]string{"metrics.serviceMonitor.enabled=true"}, "needs metrics.enabled"},
	} {
		args := []string{"template", "r", chartDir}
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		out, err := runHelm(t, args...)
		require.Error(t, err, "%v was accepted", tc.set)
		assert.Contains(t, out, tc.want, tc.set)
	}
}

// A change of the configuration changes the pods' checksum annotation,
// so the pods roll.
func TestConfigChangeRollsThePods(t *testing.T) {
	sum := func(set ...string) string {
		var sts appsv1.StatefulSet
		decodeInto(t, find(t, render(t, nil, set...), "StatefulSet", "r-berth"), &sts)
		return sts.Spec.Template.Annotations["checksum/config"]
	}
	a, b := sum(), sum("config.log_level=debug")
	assert.Len(t, a, 64)
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, sum(), "the checksum is stable")
}

func decodeInto[T any](t *testing.T, o object, into *T) {
	t.Helper()
	v, err := decodeStrict(o)
	require.NoError(t, err)
	typed, ok := v.(*T)
	require.True(t, ok, "%s decodes into %T", o, v)
	*into = *typed
}

// berthConfig is the rendered berth.yaml as a map.
func berthConfig(t *testing.T, objs []object) map[string]any {
	t.Helper()
	var cm corev1.ConfigMap
	decodeInto(t, find(t, objs, "ConfigMap", "r-berth"), &cm)
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(cm.Data["berth.yaml"]), &cfg))
	return cfg
}

func serverContainer(t *testing.T, spec corev1.PodSpec) corev1.Container {
	t.Helper()
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	require.Equal(t, "berth", c.Name)
	return c
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// checkHardened: what every berth pod must have.
func checkHardened(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	c := serverContainer(t, spec)
	sc := c.SecurityContext
	require.NotNil(t, sc)
	assert.True(t, *sc.RunAsNonRoot)
	assert.EqualValues(t, 65532, *sc.RunAsUser)
	assert.False(t, *sc.AllowPrivilegeEscalation)
	assert.True(t, *sc.ReadOnlyRootFilesystem)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
	assert.NotNil(t, c.Resources.Requests.Cpu())
	assert.False(t, c.Resources.Requests.Memory().IsZero())
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	assert.Equal(t, "tmp", mounts["/tmp"])
	assert.Equal(t, "data", mounts["/var/lib/berth"])
	assert.Equal(t, []string{"-config", "/etc/berth/berth.yaml"}, c.Args)
	require.NotNil(t, c.LivenessProbe)
	require.NotNil(t, c.ReadinessProbe)
	assert.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/healthz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, "http", c.ReadinessProbe.HTTPGet.Port.String())
}

func checkEmbedded(t *testing.T, objs []object) {
	k := kinds(objs)
	assert.Equal(t, 1, k["StatefulSet"])
	assert.Zero(t, k["Deployment"]+k["HorizontalPodAutoscaler"]+k["PodDisruptionBudget"]+k["Job"])
	var sts appsv1.StatefulSet
	decodeInto(t, find(t, objs, "StatefulSet", "r-berth"), &sts)
	assert.EqualValues(t, 1, *sts.Spec.Replicas)
	require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, "data", sts.Spec.VolumeClaimTemplates[0].Name)
	checkHardened(t, sts.Spec.Template.Spec)
	c := serverContainer(t, sts.Spec.Template.Spec)
	assert.Nil(t, envVar(c, "BERTH_DATABASE_URL"))
	assert.Equal(t, "r-berth-admin", envVar(c, "BERTH_ADMIN_PASSWORD").ValueFrom.SecretKeyRef.Name)
	cfg := berthConfig(t, objs)
	assert.NotContains(t, cfg, "secret_key_file", "embedded mode keeps the key on its volume")
	assert.Equal(t, "http://r-berth.registry.svc:5000", cfg["external_url"])
	var secret corev1.Secret
	decodeInto(t, find(t, objs, "Secret", "r-berth-admin"), &secret)
	assert.Len(t, secret.Data["password"], 24)
	assert.Equal(t, "keep", secret.Annotations["helm.sh/resource-policy"])
	var pod corev1.Pod
	decodeInto(t, find(t, objs, "Pod", "r-berth-selftest"), &pod)
	assert.Equal(t, "test", pod.Annotations["helm.sh/hook"])
	assert.Equal(t, []string{"selftest", "-url", "http://r-berth.registry.svc:5000", "-username", "admin",
		"-repository", "library/berth-selftest"}, pod.Spec.Containers[0].Args)
}

func checkScaleOut(t *testing.T, objs []object) {
	k := kinds(objs)
	assert.Zero(t, k["StatefulSet"]+k["HorizontalPodAutoscaler"])
	assert.Equal(t, 1, k["PodDisruptionBudget"])
	var d appsv1.Deployment
	decodeInto(t, find(t, objs, "Deployment", "r-berth"), &d)
	assert.EqualValues(t, 3, *d.Spec.Replicas)
	spec := d.Spec.Template.Spec
	checkHardened(t, spec)
	assert.Len(t, spec.TopologySpreadConstraints, 2)
	c := serverContainer(t, spec)
	for name, ref := range map[string][2]string{
		"BERTH_DATABASE_URL":          {"berth-postgres", "url"},
		"BERTH_STORAGE_S3_ACCESS_KEY": {"berth-s3", "access-key"},
		"BERTH_STORAGE_S3_SECRET_KEY": {"berth-s3", "secret-key"},
		"BERTH_ADMIN_PASSWORD":        {"r-berth-admin", "password"},
	} {
		e := envVar(c, name)
		require.NotNil(t, e, name)
		assert.Equal(t, ref, [2]string{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}, name)
	}
	var data *corev1.Volume
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == "data" {
			data = &spec.Volumes[i]
		}
	}
	require.NotNil(t, data)
	assert.NotNil(t, data.EmptyDir, "scale-out nodes keep only scratch and cache locally")
	cfg := berthConfig(t, objs)
	assert.Equal(t, "/etc/berth/secret/secret.key", cfg["secret_key_file"])
	s3 := cfg["storage"].(map[string]any)["s3"].(map[string]any)
	assert.Equal(t, "berth", s3["bucket"])
	assert.EqualValues(t, 16106127360, s3["cache_max_bytes"])
	var key corev1.Secret
	decodeInto(t, find(t, objs, "Secret", "r-berth-secret-key"), &key)
	assert.Len(t, key.Data["secret.key"], 32)
	var job batchv1.Job
	decodeInto(t, find(t, objs, "Job", "r-berth-migrate"), &job)
	assert.Equal(t, "pre-upgrade", job.Annotations["helm.sh/hook"])
	assert.Equal(t, []string{"migrate", "-config", "/etc/berth/berth.yaml"}, job.Spec.Template.Spec.Containers[0].Args)
	var hookCM corev1.ConfigMap
	decodeInto(t, find(t, objs, "ConfigMap", "r-berth-migrate"), &hookCM)
	var cm corev1.ConfigMap
	decodeInto(t, find(t, objs, "ConfigMap", "r-berth"), &cm)
	assert.Equal(t, cm.Data, hookCM.Data, "the migrate hook runs on the release's new configuration")
}

func checkHPA(t *testing.T, objs []object) {
	var hpa autoscalingv2.HorizontalPodAutoscaler
	decodeInto(t, find(t, objs, "HorizontalPodAutoscaler", "r-berth"), &hpa)
	assert.Equal(t, "Deployment", hpa.Spec.ScaleTargetRef.Kind)
	assert.EqualValues(t, 3, *hpa.Spec.MinReplicas)
	assert.EqualValues(t, 12, hpa.Spec.MaxReplicas)
	var d appsv1.Deployment
	decodeInto(t, find(t, objs, "Deployment", "r-berth"), &d)
	assert.Nil(t, d.Spec.Replicas, "the autoscaler owns the replica count")
	assert.Empty(t, envVar(serverContainer(t, d.Spec.Template.Spec), "BERTH_STORAGE_S3_ACCESS_KEY"),
		"without s3.existingSecret the AWS SDK's chain finds credentials")
}

func checkIngressCertManager(t *testing.T, objs []object) {
	var ing networkingv1.Ingress
	decodeInto(t, find(t, objs, "Ingress", "r-berth"), &ing)
	assert.Equal(t, "0", ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"])
	assert.Equal(t, "letsencrypt", ing.Annotations["cert-manager.io/cluster-issuer"])
	require.Len(t, ing.Spec.TLS, 1)
	assert.Equal(t, "r-berth-ingress-tls", ing.Spec.TLS[0].SecretName)
	assert.Equal(t, "https://registry.example.com", berthConfig(t, objs)["external_url"])
}

func checkIngressSecret(t *testing.T, objs []object) {
	var ing networkingv1.Ingress
	decodeInto(t, find(t, objs, "Ingress", "r-berth"), &ing)
	assert.NotContains(t, ing.Annotations, "nginx.ingress.kubernetes.io/proxy-body-size")
	require.Len(t, ing.Spec.TLS, 1)
	assert.Equal(t, "registry-example-com-tls", ing.Spec.TLS[0].SecretName)
	assert.Equal(t, "http", ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name)
}

func checkServiceMonitor(t *testing.T, objs []object) {
	var sm serviceMonitor
	decodeInto(t, find(t, objs, "ServiceMonitor", "r-berth"), &sm)
	require.Len(t, sm.Spec.Endpoints, 1)
	assert.Equal(t, "metrics", sm.Spec.Endpoints[0].Port)
	assert.Equal(t, "prometheus", sm.Labels["release"])
	var svc corev1.Service
	decodeInto(t, find(t, objs, "Service", "r-berth"), &svc)
	require.Len(t, svc.Spec.Ports, 2)
	assert.Equal(t, "metrics", svc.Spec.Ports[1].Name)
	assert.Equal(t, ":9090", berthConfig(t, objs)["metrics_addr"])
}

// checkWebhooks: both configurations point at the Service's admission
// port and paths, over pods and workloads, sparing berth's own namespace;
// the server serves the webhook on that port only, which the Ingress does
// not route to.
func checkWebhooks(t *testing.T, objs []object, mutate bool) (annotations []map[string]string, caBundles [][]byte) {
	t.Helper()
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	decodeInto(t, find(t, objs, "ValidatingWebhookConfiguration", "r-berth"), &v)
	require.Len(t, v.Webhooks, 1)
	w := v.Webhooks[0]
	assert.Equal(t, "/k8s/admission/validate", *w.ClientConfig.Service.Path)
	assert.Equal(t, "r-berth", w.ClientConfig.Service.Name)
	assert.Equal(t, int32(8443), *w.ClientConfig.Service.Port)
	var svc corev1.Service
	decodeInto(t, find(t, objs, "Service", "r-berth"), &svc)
	var admissionPort *corev1.ServicePort
	for i, p := range svc.Spec.Ports {
		if p.Name == "admission" {
			admissionPort = &svc.Spec.Ports[i]
		}
	}
	require.NotNil(t, admissionPort, "the Service publishes the webhook's port")
	assert.Equal(t, int32(8443), admissionPort.Port)
	assert.Equal(t, ":8443", berthConfig(t, objs)["admission"].(map[string]any)["addr"])
	assert.Equal(t, "registry", w.ClientConfig.Service.Namespace)
	assert.Equal(t, admissionregistrationv1.SideEffectClassNone, *w.SideEffects)
	assert.Equal(t, []string{"v1"}, w.AdmissionReviewVersions)
	assert.Contains(t, w.NamespaceSelector.MatchExpressions[0].Values, "registry")
	var resources []string
	for _, r := range w.Rules {
		resources = append(resources, r.Resources...)
	}
	assert.Subset(t, resources, []string{"pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"})
	annotations, caBundles = append(annotations, v.Annotations), append(caBundles, w.ClientConfig.CABundle)
	if !mutate {
		assert.Zero(t, kinds(objs)["MutatingWebhookConfiguration"])
		return annotations, caBundles
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	decodeInto(t, find(t, objs, "MutatingWebhookConfiguration", "r-berth"), &m)
	require.Len(t, m.Webhooks, 1)
	assert.Equal(t, "/k8s/admission/mutate", *m.Webhooks[0].ClientConfig.Service.Path)
	return append(annotations, m.Annotations), append(caBundles, m.Webhooks[0].ClientConfig.CABundle)
}

func checkAdmissionCertManager(t *testing.T, objs []object) {
	annotations, _ := checkWebhooks(t, objs, true)
	for _, a := range annotations {
		assert.Equal(t, "registry/r-berth", a["cert-manager.io/inject-ca-from"])
	}
	var cert certificate
	decodeInto(t, find(t, objs, "Certificate", "r-berth"), &cert)
	assert.Contains(t, cert.Spec.DNSNames, "r-berth.registry.svc")
	assert.Equal(t, "r-berth-tls", cert.Spec.SecretName)
	cfg := berthConfig(t, objs)
	adm := cfg["admission"].(map[string]any)
	assert.Equal(t, true, adm["enabled"])
	assert.Equal(t, "deny", adm["other_registries"])
	assert.Equal(t, []any{"registry.example.com", "r-berth.registry.svc:5000", "r-berth.registry.svc.cluster.local:5000"},
		adm["registries"], "the Service's names are this berth's too")
	assert.Equal(t, "/etc/berth/tls/tls.crt", cfg["tls"].(map[string]any)["cert_file"])
	var sts appsv1.StatefulSet
	decodeInto(t, find(t, objs, "StatefulSet", "r-berth"), &sts)
	c := serverContainer(t, sts.Spec.Template.Spec)
	assert.Equal(t, corev1.URISchemeHTTPS, c.ReadinessProbe.HTTPGet.Scheme)
	assert.Equal(t, corev1.URISchemeHTTPS, c.LivenessProbe.HTTPGet.Scheme)
	var pod corev1.Pod
	decodeInto(t, find(t, objs, "Pod", "r-berth-selftest"), &pod)
	assert.Contains(t, pod.Spec.Containers[0].Args, "-insecure")
}

func checkAdmissionCABundle(t *testing.T, objs []object) {
	annotations, bundles := checkWebhooks(t, objs, false)
	assert.NotContains(t, annotations[0], "cert-manager.io/inject-ca-from")
	assert.Contains(t, string(bundles[0]), "BEGIN CERTIFICATE")
	assert.Zero(t, kinds(objs)["Certificate"])
}

func checkExistingSecrets(t *testing.T, objs []object) {
	assert.Zero(t, kinds(objs)["Secret"], "nothing generated when Secrets are given")
	var sts appsv1.StatefulSet
	decodeInto(t, find(t, objs, "StatefulSet", "r-berth"), &sts)
	c := serverContainer(t, sts.Spec.Template.Spec)
	assert.Equal(t, "admin-password", envVar(c, "BERTH_ADMIN_PASSWORD").ValueFrom.SecretKeyRef.Key)
	assert.Equal(t, "ghcr.io/berthlabs/berth@sha256:"+strings.Repeat("0", 64), c.Image)
	assert.Equal(t, "/etc/berth/secret/secret.key", berthConfig(t, objs)["secret_key_file"])
}
