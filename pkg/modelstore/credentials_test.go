package modelstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelferry/modelferry/devstack/testkit/s3test"
)

// signedBy is what a fake S3 learned from one request's signature.
type signedBy struct {
	accessKey, sessionToken string
}

// recordingS3 answers every request 200 and records who signed the last.
func recordingS3(t *testing.T) (endpoint string, last func() signedBy) {
	t.Helper()
	var mu sync.Mutex
	var got signedBy
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/s3/aws4_request, ...
		key, _, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="), "/")
		mu.Lock()
		got = signedBy{accessKey: key, sessionToken: r.Header.Get("X-Amz-Security-Token")}
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() signedBy {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// fakeSTS answers AssumeRoleWithWebIdentity for one role, token and
// session name with the keys given.
func fakeSTS(t *testing.T, roleARN, token, sessionName, key, secret, sessionToken string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.Method != http.MethodPost || r.Form.Get("Action") != "AssumeRoleWithWebIdentity" ||
			r.Form.Get("RoleArn") != roleARN || r.Form.Get("WebIdentityToken") != token ||
			r.Form.Get("RoleSessionName") != sessionName {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<ErrorResponse><Error><Code>AccessDenied</Code><Message>unexpected request %s</Message></Error></ErrorResponse>`, r.Form)
			return
		}
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult><Credentials>
<AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>
<SessionToken>%s</SessionToken><Expiration>%s</Expiration>
</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
			key, secret, sessionToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakeIMDS is the EC2 instance metadata service (IMDSv2) of an instance
// with role "worker". Each request is counted.
func fakeIMDS(t *testing.T, calls *int) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*calls++
		mu.Unlock()
		const base = "/latest/meta-data/iam/security-credentials/"
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			fmt.Fprint(w, "imds-session")
		case r.Header.Get("X-aws-ec2-metadata-token") != "imds-session":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == base:
			fmt.Fprint(w, "worker\n")
		case r.URL.Path == base+"worker":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"Code": "Success", "AccessKeyId": "imds-key", "SecretAccessKey": "imds-secret",
				"Token": "imds-token", "Expiration": time.Now().Add(time.Hour).UTC(),
			})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// isolateAWSEnv clears the variables minio-go's providers read from the
// process environment themselves, so that the machine running the test
// (an EC2 instance, an EKS pod) cannot change its outcome.
func isolateAWSEnv(t *testing.T) {
	for _, k := range []string{
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_REGION",
		"AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
}

func TestCredentialChain(t *testing.T) {
	isolateAWSEnv(t)
	sharedFile := writeFile(t, "credentials", `[default]
aws_access_key_id = file-default-key
aws_secret_access_key = file-default-secret

[ci]
aws_access_key_id = file-ci-key
aws_secret_access_key = file-ci-secret
aws_session_token = file-ci-token
`)
	tokenFile := writeFile(t, "token", "eyJ.pod-identity.token")
	stsURL := fakeSTS(t, "arn:aws:iam::123456789012:role/modelferry", "eyJ.pod-identity.token", "predictor-0", "sts-key", "sts-secret", "sts-token")
	var imdsCalls int
	imdsURL := fakeIMDS(t, &imdsCalls)
	envKeys := AWS{AccessKeyID: "env-key", SecretAccessKey: "env-secret"}
	webIdentity := AWS{WebIdentityTokenFile: tokenFile, RoleARN: "arn:aws:iam::123456789012:role/modelferry",
		RoleSessionName: "predictor-0", STSEndpoint: stsURL, IMDSEndpoint: imdsURL}

	for _, tc := range []struct {
		name       string
		static     [2]string
		aws        AWS
		want       signedBy
		imdsCalled bool
	}{
		{name: "our static keys", static: [2]string{"static-key", "static-secret"}, aws: envKeys,
			want: signedBy{accessKey: "static-key"}},
		{name: "AWS environment", aws: envKeys, want: signedBy{accessKey: "env-key"}},
		{name: "AWS environment with a session token",
			aws:  AWS{AccessKeyID: "env-key", SecretAccessKey: "env-secret", SessionToken: "env-token"},
			want: signedBy{accessKey: "env-key", sessionToken: "env-token"}},
		{name: "AWS environment before the shared file",
			aws:  AWS{AccessKeyID: "env-key", SecretAccessKey: "env-secret", SharedCredentialsFile: sharedFile},
			want: signedBy{accessKey: "env-key"}},
		{name: "shared file, default profile", aws: AWS{SharedCredentialsFile: sharedFile, IMDSEndpoint: imdsURL},
			want: signedBy{accessKey: "file-default-key"}},
		{name: "shared file, named profile", aws: AWS{SharedCredentialsFile: sharedFile, Profile: "ci"},
			want: signedBy{accessKey: "file-ci-key", sessionToken: "file-ci-token"}},
		{name: "web identity (IRSA)", aws: webIdentity, want: signedBy{accessKey: "sts-key", sessionToken: "sts-token"}},
		{name: "instance role (IMDS)", aws: AWS{IMDSEndpoint: imdsURL},
			want: signedBy{accessKey: "imds-key", sessionToken: "imds-token"}, imdsCalled: true},
		{name: "nothing: anonymous", aws: AWS{IMDSEndpoint: imdsURL, IMDSDisabled: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imdsCalls = 0
			endpoint, last := recordingS3(t)
			b, err := NewS3(S3Options{Endpoint: endpoint, AccessKey: tc.static[0], SecretKey: tc.static[1],
				AWS: tc.aws, Bucket: "modelferry"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Exists(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := last(); got != tc.want {
				t.Errorf("request signed by %+v, want %+v", got, tc.want)
			}
			if called := imdsCalls > 0; called != tc.imdsCalled {
				t.Errorf("instance metadata service called %d times", imdsCalls)
			}
		})
	}
}

// With neither keys nor AWS_SHARED_CREDENTIALS_FILE, the AWS CLI's files
// in the home directory are read, AWS_PROFILE choosing the profile.
func TestCredentialChainHomeFiles(t *testing.T) {
	isolateAWSEnv(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"credentials": "[default]\naws_access_key_id = home-key\naws_secret_access_key = home-secret\n",
		"config":      "[profile dev]\naws_access_key_id = dev-key\naws_secret_access_key = dev-secret\n",
	} {
		if err := os.WriteFile(filepath.Join(home, ".aws", name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ profile, want string }{{"", "home-key"}, {"dev", "dev-key"}} {
		t.Run("profile "+tc.profile, func(t *testing.T) {
			endpoint, last := recordingS3(t)
			b, err := NewS3(S3Options{Endpoint: endpoint, Bucket: "modelferry",
				AWS: AWS{Profile: tc.profile, IMDSDisabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Exists(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := last().accessKey; got != tc.want {
				t.Errorf("signed by %q, want %q", got, tc.want)
			}
		})
	}
}

// Against a real S3 server the chain's keys authenticate, and wrong ones
// do not. STS answers here without a session token: versitygw refuses
// requests that carry one.
func TestCredentialChainAgainstVersitygw(t *testing.T) {
	isolateAWSEnv(t)
	srv := s3test.Start(t)
	right := fmt.Sprintf("[ci]\naws_access_key_id = %s\naws_secret_access_key = %s\n", s3test.AccessKey, s3test.SecretKey)
	token := writeFile(t, "token", "eyJ.token")
	sts := fakeSTS(t, "arn:role", "eyJ.token", "pod", s3test.AccessKey, s3test.SecretKey, "")
	badSTS := fakeSTS(t, "arn:role", "eyJ.token", "pod", s3test.AccessKey, "wrong", "")
	for _, tc := range []struct {
		name string
		aws  AWS
		ok   bool
	}{
		{"AWS environment", AWS{AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey}, true},
		{"AWS environment, wrong secret", AWS{AccessKeyID: s3test.AccessKey, SecretAccessKey: "wrong"}, false},
		{"shared file", AWS{SharedCredentialsFile: writeFile(t, "credentials", right), Profile: "ci"}, true},
		{"web identity", AWS{WebIdentityTokenFile: token, RoleARN: "arn:role", RoleSessionName: "pod", STSEndpoint: sts}, true},
		{"web identity, wrong keys from STS", AWS{WebIdentityTokenFile: token, RoleARN: "arn:role", RoleSessionName: "pod", STSEndpoint: badSTS}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.aws.IMDSDisabled = true
			b, err := NewS3(S3Options{Endpoint: srv.Endpoint, AWS: tc.aws, Bucket: "modelferry"})
			if err != nil {
				t.Fatal(err)
			}
			err = b.EnsureBucket(context.Background())
			switch {
			case tc.ok && err != nil:
				t.Fatalf("EnsureBucket: %v", err)
			case !tc.ok && !errors.Is(err, ErrAccessDenied):
				t.Fatalf("EnsureBucket: %v, want ErrAccessDenied", err)
			}
		})
	}
}
