package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

func TestStorageFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		endpoint string
		tls      bool
		region   string
		err      string
	}{
		{name: "defaults", endpoint: "localhost:9000", region: "us-east-1"},
		{name: "AWS endpoint URL, https",
			env:      map[string]string{"AWS_ENDPOINT_URL_S3": "https://s3.eu-west-1.amazonaws.com", "AWS_REGION": "eu-west-1"},
			endpoint: "s3.eu-west-1.amazonaws.com", tls: true, region: "eu-west-1"},
		{name: "AWS endpoint URL, http with a port",
			env:      map[string]string{"AWS_ENDPOINT_URL_S3": "http://minio:9000/"},
			endpoint: "minio:9000", region: "us-east-1"},
		{name: "S3_ENDPOINT wins, TLS from S3_USE_TLS only",
			env:      map[string]string{"AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com", "S3_ENDPOINT": "gw:7070"},
			endpoint: "gw:7070", region: "us-east-1"},
		{name: "S3_USE_TLS overrides the URL's scheme",
			env:      map[string]string{"AWS_ENDPOINT_URL_S3": "https://s3.local:8443", "S3_USE_TLS": "false"},
			endpoint: "s3.local:8443", region: "us-east-1"},
		{name: "S3_REGION wins over AWS_REGION",
			env:      map[string]string{"AWS_REGION": "eu-west-1", "S3_REGION": "auto"},
			endpoint: "localhost:9000", region: "auto"},
		{name: "an access key without its secret", env: map[string]string{"S3_ACCESS_KEY": "k"},
			err: "S3_ACCESS_KEY and S3_SECRET_KEY: set both or neither"},
		{name: "an AWS secret without its key", env: map[string]string{"AWS_SECRET_ACCESS_KEY": "s"},
			err: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither"},
		{name: "no scheme", env: map[string]string{"AWS_ENDPOINT_URL_S3": "s3.amazonaws.com"},
			err: "AWS_ENDPOINT_URL_S3"},
		{name: "a path", env: map[string]string{"AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com/bucket"},
			err: "AWS_ENDPOINT_URL_S3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envconfig.New(func(k string) string { return tc.env[k] })
			o, _ := storageFromEnv(env)
			if tc.err != "" {
				if err := env.Err(); err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Err() = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err := env.Err(); err != nil {
				t.Fatal(err)
			}
			if o.Endpoint != tc.endpoint || o.UseTLS != tc.tls || o.Region != tc.region {
				t.Errorf("endpoint %q tls %v region %q, want %q %v %q", o.Endpoint, o.UseTLS, o.Region, tc.endpoint, tc.tls, tc.region)
			}
		})
	}

	t.Run("AWS sources, secrets from files", func(t *testing.T) {
		secretFile := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(secretFile, []byte("s3cr3t\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{
			"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY_FILE": secretFile,
			"AWS_SESSION_TOKEN": "tok", "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials", "AWS_PROFILE": "ci",
			"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/token", "AWS_ROLE_ARN": "arn:role",
			"AWS_ROLE_SESSION_NAME": "pod", "AWS_ENDPOINT_URL_STS": "https://sts.example", "AWS_REGION": "eu-west-1",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://imds", "AWS_EC2_METADATA_DISABLED": "true",
		}
		e := envconfig.New(func(k string) string { return env[k] })
		o, _ := storageFromEnv(e)
		got := o.AWS
		if err := e.Err(); err != nil {
			t.Fatal(err)
		}
		want := modelstore.AWS{AccessKeyID: "AKIA", SecretAccessKey: "s3cr3t", SessionToken: "tok",
			SharedCredentialsFile: "/etc/aws/credentials", Profile: "ci",
			WebIdentityTokenFile: "/var/run/secrets/token", RoleARN: "arn:role", RoleSessionName: "pod",
			STSEndpoint: "https://sts.example", Region: "eu-west-1", IMDSEndpoint: "http://imds", IMDSDisabled: true}
		if got != want {
			t.Errorf("AWS = %+v\nwant %+v", got, want)
		}
	})
}
