package main

import "github.com/modelferry/modelferry/devstack/mutation"

// named is a catalog entry; e2e marks bugs the end-to-end suite should
// catch too (-e2e runs it against them).
type named struct {
	mutation.Named
	e2e bool
}

const (
	reloaderPkg   = "./services/predictor/internal/reloader"
	servingPkg    = "./pkg/serving"
	apiPkg        = "./services/predictor/internal/api"
	predictorPkg  = "./services/predictor"
	storePkg      = "./pkg/modelstore"
	reloaderGo    = "services/predictor/internal/reloader/reloader.go"
	decodeGo      = "pkg/serving/decode.go"
	inferEncodeGo = "pkg/serving/inferencode.go"
)

// catalog holds plausible bugs in the code that guards integrity, swaps
// models, decodes requests and answers them: each must fail a test. Its
// first rows are the table of issue 19. Each names the function it
// changes (Func), so it finds its code by the syntax tree and matches it
// whatever the spacing: only an edit of that code itself needs the
// mutation rewritten.
var catalog = []named{
	{e2e: true, Named: mutation.Named{
		Name:  "reloader swaps the model in first and compares the sha256 after",
		File:  reloaderGo,
		Func:  "Reloader.load",
		Tests: []string{reloaderPkg, predictorPkg},
		Old: `	b, err := r.cfg.Store.ReadArtifact(ctx, r.cfg.Model, alias.Version, alias.SHA256)
	if errors.Is(err, modelstore.ErrTooLarge) {
		return fmt.Errorf("%w (PREDICTOR_MAX_ARTIFACT_BYTES)", err)
	}
	if err != nil {
		return err
	}
	m, err := artifact.DecodeVersion(b, r.cfg.Model, alias.Version)
	if err != nil {
		return fmt.Errorf("%w: %w", modelstore.ErrIntegrity, err)
	}
	sm, err := serving.New(m, alias.SHA256, r.metrics.predictions, r.cfg.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", modelstore.ErrIntegrity, err)
	}
	r.watch(sm)
	r.swap(sm)
`,
		New: `	b, err := r.cfg.Store.ReadArtifact(ctx, r.cfg.Model, alias.Version, "")
	if errors.Is(err, modelstore.ErrTooLarge) {
		return fmt.Errorf("%w (PREDICTOR_MAX_ARTIFACT_BYTES)", err)
	}
	if err != nil {
		return err
	}
	m, err := artifact.DecodeVersion(b, r.cfg.Model, alias.Version)
	if err != nil {
		return fmt.Errorf("%w: %w", modelstore.ErrIntegrity, err)
	}
	sm, err := serving.New(m, alias.SHA256, r.metrics.predictions, r.cfg.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", modelstore.ErrIntegrity, err)
	}
	r.watch(sm)
	r.swap(sm)
	if modelstore.SHA256(b) != alias.SHA256 {
		return fmt.Errorf("%w: sha256 differs from the alias", modelstore.ErrIntegrity)
	}
`,
	}},
	{Named: mutation.Named{
		Name:  "trainer: promoted reported after losing the alias race without writing",
		File:  "services/trainer/internal/registry/aliases.go",
		Func:  "Registry.Promote",
		Tests: []string{"./services/trainer/internal/registry"},
		Old:   "		if !errors.Is(err, modelstore.ErrConflict) {\n			return false, \"\", err\n		}\n	}\n	return false, \"production moved concurrently too often; not promoted\", nil",
		New:   "		if errors.Is(err, modelstore.ErrConflict) {\n			return true, \"\", nil\n		}\n		return false, \"\", err\n	}\n	return false, \"production moved concurrently too often; not promoted\", nil",
	}},
	{e2e: true, Named: mutation.Named{
		Name:  "store: the sha256 comparison removed from ReadArtifact",
		File:  "pkg/modelstore/versions.go",
		Func:  "Store.ReadArtifact",
		Tests: []string{storePkg, reloaderPkg},
		Old:   `if got := SHA256(b); wantSHA != "" && got != wantSHA {`,
		New:   `if got := SHA256(b); false && got != wantSHA {`,
	}},
	{Named: mutation.Named{
		Name:  "reloader cache: the hash check removed",
		File:  reloaderGo,
		Func:  "Reloader.LoadCache",
		Tests: []string{reloaderPkg},
		Old:   `if err == nil && modelstore.SHA256(b) != rec.Alias.SHA256 {`,
		New:   `if false {`,
	}},
	{Named: mutation.Named{
		Name:  "OIP: class_id output wrong",
		File:  inferEncodeGo,
		Func:  "Model.AppendInfer",
		Tests: []string{apiPkg},
		Old:   `b = strconv.AppendInt(b, int64(c), 10)`,
		New:   `b = strconv.AppendInt(b, int64(m.NumClasses()-1-c), 10)`,
	}},
	{Named: mutation.Named{
		Name:  "OIP: rows after the first copy row 0's label and probabilities",
		File:  inferEncodeGo,
		Func:  "Model.PredictRows",
		Tests: []string{apiPkg},
		Old:   `c, err := m.Predict(x[i*f:(i+1)*f], a.P[i*k:(i+1)*k])`,
		New:   `c, err := m.Predict(x[:f], a.P[i*k:(i+1)*k])`,
	}},
	{Named: mutation.Named{
		Name: "/predict: class order reversed in probabilities (the API tests alone must notice)",
		File: "pkg/serving/encode.go",
		Func: "Model.appendPrediction",
		// Only the API's tests: serving's own already caught this one.
		Tests: []string{apiPkg},
		Old:   "		b = append(b, m.classJSON[k]...)\n		b = append(b, ':')",
		New:   "		b = append(b, m.classJSON[len(p)-1-k]...)\n		b = append(b, ':')",
	}},
	{Named: mutation.Named{
		Name:  "decoder accepts 1. (a trailing decimal point)",
		File:  decodeGo,
		Func:  "scanner.scanNumber",
		Tests: []string{servingPkg},
		Old: `		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {`,
		New: `		i++
		digits()
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {`,
	}},

	// Beyond the table.
	{Named: mutation.Named{
		Name:  "reloader: the alias's sha256 not passed to the store",
		File:  reloaderGo,
		Func:  "Reloader.load",
		Tests: []string{reloaderPkg},
		Old:   `r.cfg.Store.ReadArtifact(ctx, r.cfg.Model, alias.Version, alias.SHA256)`,
		New:   `r.cfg.Store.ReadArtifact(ctx, r.cfg.Model, alias.Version, "")`,
	}},
	{e2e: true, Named: mutation.Named{
		Name:  "reloader: a failed load not exported",
		File:  reloaderGo,
		Func:  "Reloader.fail",
		Tests: []string{reloaderPkg},
		Old:   "	r.reloads.WithLabelValues(\"failure\").Inc()\n	r.lastOK.Set(0)\n",
		New:   "	r.reloads.WithLabelValues(\"failure\").Inc()\n",
	}},
	{Named: mutation.Named{
		Name:  "reloader: a known-bad artifact fetched again on every poll",
		File:  reloaderGo,
		Func:  "Reloader.Poll",
		Tests: []string{reloaderPkg},
		Old:   `if alias.SHA256 == r.badSHA {`,
		New:   `if false {`,
	}},
	{Named: mutation.Named{
		Name:  "reloader cache: another version's artifact served",
		File:  reloaderGo,
		Func:  "Reloader.LoadCache",
		Tests: []string{reloaderPkg},
		Old:   `m, derr := artifact.DecodeVersion(b, r.cfg.Model, rec.Alias.Version)`,
		New:   `m, derr := artifact.Decode(b)`,
	}},
	{Named: mutation.Named{
		Name:  "store: aliases written without If-Match (no compare-and-swap)",
		File:  "pkg/modelstore/s3.go",
		Func:  "S3.Put",
		Tests: []string{storePkg},
		Old:   "	case opts.IfMatch != \"\":\n		popts.SetMatchETag(opts.IfMatch)\n",
		New:   "	case opts.IfMatch != \"\":\n",
	}},
	{Named: mutation.Named{
		Name:  "store: version numbers claimed without If-None-Match (two publishes get one number)",
		File:  "pkg/modelstore/numbers.go",
		Func:  "Store.AssignNumber",
		Tests: []string{storePkg},
		Old:   `PutOptions{ContentType: "text/plain", CreateOnly: true}`,
		New:   `PutOptions{ContentType: "text/plain"}`,
	}},
	{Named: mutation.Named{
		Name:  "store: versions written without If-None-Match (overwritable)",
		File:  "pkg/modelstore/s3.go",
		Func:  "S3.Put",
		Tests: []string{storePkg},
		Old:   "	case opts.CreateOnly:\n		popts.SetMatchETagExcept(\"*\")\n",
		New:   "	case opts.CreateOnly:\n",
	}},
	{Named: mutation.Named{
		Name:  "decoder: a missing feature reads as 0",
		File:  decodeGo,
		Func:  "decoder.objectRow",
		Tests: []string{servingPkg},
		Old:   "		return err\n	}\n	return d.missing(row)\n}",
		New:   "		return err\n	}\n	return nil\n}",
	}},
	{Named: mutation.Named{
		Name:  "decoder: an unknown feature is skipped",
		File:  decodeGo,
		Func:  "decoder.objectRow",
		Tests: []string{servingPkg},
		Old: `		if !ok {
			return &InputError{Field: names.Clip(string(key)), Msg: "unknown feature; the model expects " + strings.Join(d.m.Features, ", ")}
		}`,
		New: `		if !ok {
			_, err := d.number()
			return err
		}`,
	}},
	{Named: mutation.Named{
		Name:  "decoder: a feature given twice keeps the last value",
		File:  decodeGo,
		Func:  "decoder.objectRow",
		Tests: []string{servingPkg},
		Old:   `if seen[idx] {`,
		New:   `if false {`,
	}},
	{Named: mutation.Named{
		Name:  "decoder: every batch row lands on row 0",
		File:  decodeGo,
		Func:  "decoder.grow",
		Tests: []string{servingPkg},
		Old:   `return d.sc.X[n:]`,
		New:   `return d.sc.X[:f]`,
	}},
	{Named: mutation.Named{
		Name:  "decoder: trailing data after the object accepted",
		File:  decodeGo,
		Func:  "scanner.end",
		Tests: []string{servingPkg},
		Old:   "	s.ws()\n	if s.i != len(s.b) {",
		New:   "	s.ws()\n	if false {",
	}},
}
