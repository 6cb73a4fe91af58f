package service

import (
	"fmt"
	"net/url"
	"time"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// storageFromEnv declares and reads the S3_* variables both services
// share, and the AWS_* ones AWS SDKs read.
func storageFromEnv(env *envconfig.Env) (modelstore.S3Options, modelstore.Options) {
	endpoint, useTLS := "localhost:9000", false
	if u := env.String("AWS_ENDPOINT_URL_S3", "", "S3 endpoint as a URL, used when S3_ENDPOINT is not set; https:// means TLS"); u != "" {
		var err error
		if endpoint, useTLS, err = endpointFromURL(u); err != nil {
			env.Fail("AWS_ENDPOINT_URL_S3: %v", err)
		}
	}
	awsRegion := env.String("AWS_REGION", "", "AWS region: the default of S3_REGION, and where STS is asked")
	region := "us-east-1"
	if awsRegion != "" {
		region = awsRegion
	}
	s3 := modelstore.S3Options{Endpoint: env.String("S3_ENDPOINT", endpoint, "S3 endpoint, host:port")}
	if s3.Endpoint != endpoint {
		useTLS = false // AWS_ENDPOINT_URL_S3's scheme is not S3_ENDPOINT's
	}
	s3.UseTLS = env.Bool("S3_USE_TLS", useTLS, "use https to reach S3")
	s3.AccessKey = env.Secret("S3_ACCESS_KEY", "S3 access key; without it, the AWS_* sources below are tried in order")
	s3.SecretKey = env.Secret("S3_SECRET_KEY", "S3 secret key")
	s3.Bucket = env.String("S3_BUCKET", "modelferry", "bucket holding models, runs and datasets (created when missing)")
	s3.Region = env.String("S3_REGION", region, "S3 region")
	store := modelstore.Options{
		Timeout: env.Duration("S3_TIMEOUT", 10*time.Second, "timeout of each S3 call"),
	}
	s3.AWS = modelstore.AWS{
		AccessKeyID:           env.Secret("AWS_ACCESS_KEY_ID", "AWS access key"),
		SecretAccessKey:       env.Secret("AWS_SECRET_ACCESS_KEY", "AWS secret key"),
		SessionToken:          env.Secret("AWS_SESSION_TOKEN", "AWS session token, with temporary keys"),
		SharedCredentialsFile: env.String("AWS_SHARED_CREDENTIALS_FILE", "", "AWS credentials file (empty: ~/.aws/credentials over ~/.aws/config)"),
		Profile:               env.String("AWS_PROFILE", "", "profile in the AWS credentials file (empty: default)"),
		WebIdentityTokenFile:  env.String("AWS_WEB_IDENTITY_TOKEN_FILE", "", "web identity token traded at STS for AWS_ROLE_ARN's keys (EKS IAM roles for service accounts)"),
		RoleARN:               env.String("AWS_ROLE_ARN", "", "role assumed with the web identity token"),
		RoleSessionName:       env.String("AWS_ROLE_SESSION_NAME", "", "session name of the assumed role (empty: a timestamp)"),
		STSEndpoint:           env.String("AWS_ENDPOINT_URL_STS", "", "STS endpoint URL (empty: AWS's, in AWS_REGION)"),
		Region:                awsRegion,
		IMDSEndpoint:          env.String("AWS_EC2_METADATA_SERVICE_ENDPOINT", "", "EC2 instance metadata service URL, for the instance role (empty: http://169.254.169.254)"),
		IMDSDisabled:          env.Bool("AWS_EC2_METADATA_DISABLED", false, "never ask the EC2 instance metadata service for keys"),
	}
	// A key without its secret, or the reverse, would be skipped silently.
	for _, p := range []struct{ id, secret, idVar, secretVar string }{
		{s3.AccessKey, s3.SecretKey, "S3_ACCESS_KEY", "S3_SECRET_KEY"},
		{s3.AWS.AccessKeyID, s3.AWS.SecretAccessKey, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
	} {
		if (p.id == "") != (p.secret == "") {
			env.Fail("%s and %s: set both or neither", p.idVar, p.secretVar)
		}
	}
	return s3, store
}

// endpointFromURL reads an AWS_ENDPOINT_URL_S3 value,
// "https://s3.eu-west-1.amazonaws.com" or "http://minio:9000": the
// host:port minio-go wants and whether to use TLS.
func endpointFromURL(s string) (host string, tls bool, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", false, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, fmt.Errorf("%q: want http:// or https:// and a host", s)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false, fmt.Errorf("%q: want only a scheme, a host and a port", s)
	}
	return u.Host, u.Scheme == "https", nil
}
