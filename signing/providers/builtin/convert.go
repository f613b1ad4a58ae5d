package builtin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// convertible maps the office formats the pattern allows to their file extension.
var convertible = map[string]string{
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
	"application/vnd.oasis.opendocument.text":                                 ".odt",
	"application/msword": ".doc",
	"application/rtf":    ".rtf",
	"text/rtf":           ".rtf",
}

// needsConversion returns the extension of an office document to convert, or "" for a PDF (or
// anything else, which the signer then refuses as not a PDF).
func needsConversion(formaat, bestandsnaam string) string {
	if ext, ok := convertible[strings.ToLower(strings.TrimSpace(strings.Split(formaat, ";")[0]))]; ok {
		return ext
	}
	switch ext := strings.ToLower(filepath.Ext(bestandsnaam)); ext {
	case ".docx", ".odt", ".doc", ".rtf":
		return ext
	}
	return ""
}

// pdfName gives a file name the .pdf extension.
func pdfName(name string) string {
	if name == "" {
		return "document.pdf"
	}
	if strings.EqualFold(filepath.Ext(name), ".pdf") {
		return name
	}
	return strings.TrimSuffix(name, filepath.Ext(name)) + ".pdf"
}

// Converter turns Word/ODF/RTF documents into PDF: with Gotenberg when its URL is set, else with a
// local LibreOffice (soffice --headless). Both work on files, never on whole documents in memory.
type Converter struct {
	GotenbergURL string
	Client       *http.Client // nil: 2 minute timeout
	Soffice      string       // path or name of soffice; default "soffice"
}

// Convert converts the file at src (whose extension says its format) and returns the path of the
// PDF it wrote into dir.
func (c Converter) Convert(ctx context.Context, src, dir string) (string, error) {
	if c.GotenbergURL != "" {
		return c.gotenberg(ctx, src, dir)
	}
	return c.soffice(ctx, src, dir)
}

func (c Converter) soffice(ctx context.Context, src, dir string) (string, error) {
	bin := c.Soffice
	if bin == "" {
		bin = "soffice"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// A profile of its own lets conversions run in parallel with each other and a desktop session.
	profile := filepath.Join(dir, "profile")
	cmd := exec.CommandContext(ctx, bin, "-env:UserInstallation=file://"+profile, "--headless", "--norestore",
		"--convert-to", "pdf", "--outdir", dir, src)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("builtin: convert with soffice: %w: %s", err, bytes.TrimSpace(out))
	}
	pdf := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))+".pdf")
	if _, err := os.Stat(pdf); err != nil {
		return "", fmt.Errorf("builtin: convert with soffice: no PDF written: %s", bytes.TrimSpace(out))
	}
	return pdf, nil
}

func (c Converter) gotenberg(ctx context.Context, src, dir string) (string, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("builtin: convert with gotenberg: %w", err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("files", filepath.Base(src))
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.GotenbergURL, "/")+"/forms/libreoffice/convert", pr)
	if err != nil {
		return "", fmt.Errorf("builtin: convert with gotenberg: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("builtin: convert with gotenberg: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("builtin: convert with gotenberg: status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	pdf := filepath.Join(dir, "converted.pdf")
	out, err := os.Create(pdf)
	if err != nil {
		return "", fmt.Errorf("builtin: convert with gotenberg: %w", err)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		out.Close()
		return "", fmt.Errorf("builtin: convert with gotenberg: %w", err)
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("builtin: convert with gotenberg: %w", err)
	}
	return pdf, nil
}

// errNotPDF marks input that is neither a PDF nor a convertible office document.
var errNotPDF = errors.New("document is not a PDF")
