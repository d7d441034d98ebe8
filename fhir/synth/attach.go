package synth

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// attachment wraps bytes as a FHIR Attachment with its size and SHA-1 hash,
// as R4 defines Attachment.hash.
func attachment(contentType, title string, data []byte, created time.Time) r4.Attachment {
	sum := sha1.Sum(data)
	return r4.Attachment{
		ContentType: new(contentType),
		Data:        new(base64.StdEncoding.EncodeToString(data)),
		Size:        new(len(data)),
		Hash:        new(base64.StdEncoding.EncodeToString(sum[:])),
		Title:       new(title),
		Creation:    new(dateTime(created)),
	}
}

func textAttachment(text, title string, created time.Time) r4.Attachment {
	return attachment("text/plain; charset=utf-8", title, []byte(text), created)
}

// photoAttachment is a small PNG, as a patient might send a photo of a
// rash: skin-toned with a reddish patch.
func photoAttachment(r *rand.Rand, title string, created time.Time) r4.Attachment {
	const size = 24
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	skin := color.NRGBA{uint8(between(r, 170, 230)), uint8(between(r, 130, 180)), uint8(between(r, 100, 150)), 255}
	cx, cy, radius := between(r, 8, 16), between(r, 8, 16), between(r, 4, 7)
	for y := range size {
		for x := range size {
			px := skin
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= radius*radius {
				px = color.NRGBA{uint8(min(255, int(skin.R)+25)), skin.G / 2, skin.B / 2, 255}
			}
			img.SetNRGBA(x, y, px)
		}
	}
	var buf bytes.Buffer
	// Encoding an in-memory image to a buffer cannot fail.
	_ = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img)
	return attachment("image/png", title, buf.Bytes(), created)
}

// pdfAttachment is a one-page PDF holding lines of text in Helvetica.
func pdfAttachment(title string, lines []string, created time.Time) r4.Attachment {
	var content strings.Builder
	content.WriteString("BT /F1 12 Tf 72 720 Td 16 TL\n")
	for _, l := range lines {
		fmt.Fprintf(&content, "(%s) '\n", pdfEscape(l))
	}
	content.WriteString("ET\n")
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var doc bytes.Buffer
	doc.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = doc.Len()
		fmt.Fprintf(&doc, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := doc.Len()
	fmt.Fprintf(&doc, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&doc, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&doc, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return attachment("application/pdf", title, doc.Bytes(), created)
}

func pdfEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(s)
}
