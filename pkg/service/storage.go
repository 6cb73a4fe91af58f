package service

import (
	"time"

	"github.com/modelferry/modelferry/pkg/envconfig"
	"github.com/modelferry/modelferry/pkg/modelstore"
)

// storageFromEnv declares and reads the S3_* variables both services
// share.
func storageFromEnv(env *envconfig.Env) (modelstore.S3Options, modelstore.Options) {
	s3 := modelstore.S3Options{
		Endpoint:  env.String("S3_ENDPOINT", "localhost:9000", "S3 endpoint, host:port"),
		AccessKey: env.Secret("S3_ACCESS_KEY", "S3 access key"),
		SecretKey: env.Secret("S3_SECRET_KEY", "S3 secret key"),
		Bucket:    env.String("S3_BUCKET", "modelferry", "bucket holding models, runs and datasets (created when missing)"),
		Region:    env.String("S3_REGION", "us-east-1", "S3 region"),
		UseTLS:    env.Bool("S3_USE_TLS", false, "use https to reach S3"),
	}
	store := modelstore.Options{
		Timeout: env.Duration("S3_TIMEOUT", 10*time.Second, "timeout of each S3 call"),
	}
	return s3, store
}
