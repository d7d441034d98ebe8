package tenants

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/portalgate/portalgate/configs"
	"github.com/portalgate/portalgate/fhir"
)

// maxConfigSize bounds a configuration file; real ones are a few kilobytes.
const maxConfigSize = 4 << 20

// LoadOption configures Load, LoadFile and LoadFS.
type LoadOption func(*loadOptions)

type loadOptions struct {
	vars      map[string]string
	env       func(string) (string, bool)
	platforms map[string]fhir.Platform
	now       func() time.Time
}

// WithVars supplies ${NAME} values; they win over the environment. The
// sandbox passes its own listener URL this way (SANDBOX_URL).
func WithVars(vars map[string]string) LoadOption {
	return func(o *loadOptions) {
		if o.vars == nil {
			o.vars = map[string]string{}
		}
		maps.Copy(o.vars, vars)
	}
}

// WithEnv replaces os.LookupEnv as the source of ${NAME} values not given
// by WithVars; nil means no environment at all.
func WithEnv(lookup func(string) (string, bool)) LoadOption {
	return func(o *loadOptions) { o.env = lookup }
}

// WithPlatforms replaces the platform quirk files shipped in configs.FS.
func WithPlatforms(platforms map[string]fhir.Platform) LoadOption {
	return func(o *loadOptions) { o.platforms = platforms }
}

// WithClock sets the clock that sandbox ages are checked against.
func WithClock(now func() time.Time) LoadOption {
	return func(o *loadOptions) { o.now = now }
}

func (o *loadOptions) lookup(name string) (string, bool) {
	if v, ok := o.vars[name]; ok {
		return v, true
	}
	if o.env == nil {
		return "", false
	}
	return o.env(name)
}

// LoadFile reads and validates the configuration file at path.
func LoadFile(path string, opts ...LoadOption) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("tenants: read %s: %w", path, err)
	}
	return Load(path, data, opts...)
}

// LoadFS reads and validates the configuration file at path in fsys, such
// as configs.FS.
func LoadFS(fsys fs.FS, path string, opts ...LoadOption) (*Config, error) {
	data, err := fs.ReadFile(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	return Load(path, data, opts...)
}

// Load decodes and validates a configuration file; name is used in error
// messages. It reports every problem at once, joined with errors.Join, each
// a *FieldError that names the file, line, column and field (FieldErrors
// lists them).
func Load(name string, data []byte, opts ...LoadOption) (*Config, error) {
	o := loadOptions{env: os.LookupEnv, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.platforms == nil {
		platforms, err := DefaultPlatforms()
		if err != nil {
			return nil, err
		}
		o.platforms = platforms
	}
	if len(data) > maxConfigSize {
		return nil, &FieldError{File: name, Err: fmt.Errorf("the file is larger than %d bytes", maxConfigSize)}
	}
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}

	probs := newProblems(name)
	d := &decoder{problems: probs, lookup: o.lookup}
	cfg := &Config{Source: name}
	d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	cfg.validate(o.platforms, o.now(), probs.field)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses exactly one YAML document.
func parseYAML(name string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		// The parser is third-party code fed outside input: a panic there
		// must become an error, never a crash.
		if r := recover(); r != nil {
			root, err = nil, &FieldError{File: name, Err: fmt.Errorf("unreadable YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{File: name, Err: errors.New("the file is empty")}
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(name, err)
	default:
		return nil, &FieldError{File: name, Line: extra.Line, Column: extra.Column, Err: errors.New("only one YAML document is allowed")}
	}
	if len(doc.Content) == 0 {
		return nil, &FieldError{File: name, Err: errors.New("the file is empty")}
	}
	return doc.Content[0], nil
}

func yamlError(name string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: name, Line: line, Err: fmt.Errorf("invalid YAML: %s", m[2])}
	}
	return &FieldError{File: name, Err: fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))}
}

// Platforms reads the platform quirk files platforms/*.yaml from fsys; each
// file must be named after the platform it describes.
func Platforms(fsys fs.FS) (map[string]fhir.Platform, error) {
	files, err := fs.Glob(fsys, "platforms/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("tenants: platforms: %w", err)
	}
	out := make(map[string]fhir.Platform, len(files))
	for _, file := range files {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("tenants: platforms: %w", err)
		}
		p, err := fhir.ParsePlatform(data)
		if err != nil {
			return nil, fmt.Errorf("tenants: %s: %w", file, err)
		}
		if want := strings.TrimSuffix(path.Base(file), ".yaml"); p.Name != want {
			return nil, fmt.Errorf("tenants: %s describes platform %q; name the file %s.yaml", file, p.Name, p.Name)
		}
		out[p.Name] = p
	}
	if len(out) == 0 {
		return nil, errors.New("tenants: platforms: no platforms/*.yaml files")
	}
	return out, nil
}

var shippedPlatforms = sync.OnceValues(func() (map[string]fhir.Platform, error) {
	return Platforms(configs.FS)
})

// DefaultPlatforms returns the platform quirk files shipped in configs.FS.
func DefaultPlatforms() (map[string]fhir.Platform, error) {
	platforms, err := shippedPlatforms()
	return maps.Clone(platforms), err
}
