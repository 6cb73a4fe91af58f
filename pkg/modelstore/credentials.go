package modelstore

import (
	"net/http"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// AWS holds the credential sources AWS SDKs read from their standard
// variables (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE,
// ...). S3 tries them after S3Options.AccessKey and SecretKey, in
// the order of the fields; the first source that yields keys wins and is
// asked again when its keys expire.
type AWS struct {
	// Keys from the environment.
	AccessKeyID, SecretAccessKey, SessionToken string

	// SharedCredentialsFile is an INI file of profiles; only it is read.
	// Empty reads ~/.aws/credentials over ~/.aws/config, as the AWS CLI
	// does. Profile empty means "default".
	SharedCredentialsFile, Profile string

	// WebIdentityTokenFile, when set, is exchanged for keys of RoleARN at
	// STS (AssumeRoleWithWebIdentity): EKS IAM roles for service accounts
	// mount the token and set both. STSEndpoint empty means the regional
	// AWS endpoint of Region. The instance role below is then not tried.
	WebIdentityTokenFile, RoleARN, RoleSessionName, STSEndpoint, Region string

	// The instance or container role: ECS task roles and EKS Pod Identity
	// (minio-go reads their AWS_CONTAINER_* variables), else the EC2
	// instance metadata service at IMDSEndpoint (empty: 169.254.169.254).
	IMDSEndpoint string
	IMDSDisabled bool
}

// roleTimeout bounds one call to the metadata service or STS: on a machine
// without them, an S3 configured with no keys at all would otherwise
// wait for a TCP timeout on every S3 call.
const roleTimeout = 5 * time.Second

// credentialChain is minio-go's chain over our keys and the AWS sources.
// No source yielding keys means anonymous requests, which only a public
// bucket accepts.
func credentialChain(o S3Options) *credentials.Credentials {
	a := o.AWS
	providers := []credentials.Provider{
		&credentials.Static{Value: credentials.Value{
			AccessKeyID: o.AccessKey, SecretAccessKey: o.SecretKey, SignerType: credentials.SignatureV4}},
		&credentials.Static{Value: credentials.Value{
			AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, SessionToken: a.SessionToken,
			SignerType: credentials.SignatureV4}},
		&credentials.FileAWSCredentials{Filename: a.SharedCredentialsFile, Profile: a.Profile},
	}
	client := &http.Client{Timeout: roleTimeout, Transport: o.Transport}
	switch {
	case a.WebIdentityTokenFile != "":
		role := &credentials.IAM{Endpoint: a.STSEndpoint, Region: a.Region, Client: client}
		role.EKSIdentity.TokenFile = a.WebIdentityTokenFile
		role.EKSIdentity.RoleARN = a.RoleARN
		role.EKSIdentity.RoleSessionName = a.RoleSessionName
		providers = append(providers, role)
	case !a.IMDSDisabled:
		providers = append(providers, &credentials.IAM{Endpoint: a.IMDSEndpoint, Client: client})
	}
	return credentials.NewChainCredentials(providers)
}
