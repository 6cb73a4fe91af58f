package console

import (
	"fmt"
	"math"
)

// Colours. Categorical series use Okabe and Ito's palette, which stays
// distinct under the common colour-vision deficiencies; counts use a
// viridis ramp (perceptually uniform, readable in grey); signed values use
// ColorBrewer's PuOr, a diverging scheme safe for colour-blind readers.
var (
	okabeIto = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

	viridis = []rgb{
		{0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x49, 0x89}, {0x31, 0x68, 0x8e}, {0x26, 0x82, 0x8e},
		{0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6e, 0xce, 0x58}, {0xb5, 0xde, 0x2b}, {0xfd, 0xe7, 0x25},
	}
	// puOr runs from orange (negative) through white (zero) to purple
	// (positive).
	puOr = []rgb{
		{0x7f, 0x3b, 0x08}, {0xb3, 0x58, 0x06}, {0xe0, 0x82, 0x14}, {0xfd, 0xb8, 0x63}, {0xfe, 0xe0, 0xb6},
		{0xf7, 0xf7, 0xf7}, {0xd8, 0xda, 0xeb}, {0xb2, 0xab, 0xd2}, {0x80, 0x73, 0xac}, {0x54, 0x27, 0x88}, {0x2d, 0x00, 0x4b},
	}
)

// seriesColor is the colour of the i-th series.
func seriesColor(i int) string { return okabeIto[i%len(okabeIto)] }

type rgb struct{ r, g, b float64 }

func (c rgb) hex() string {
	return fmt.Sprintf("#%02x%02x%02x", int(math.Round(c.r)), int(math.Round(c.g)), int(math.Round(c.b)))
}

// dark reports whether text on c should be white.
func (c rgb) dark() bool { return 0.2126*c.r+0.7152*c.g+0.0722*c.b < 128 }

// ramp interpolates stops at t in [0, 1].
func ramp(stops []rgb, t float64) rgb {
	if math.IsNaN(t) {
		t = 0
	}
	t = math.Max(0, math.Min(1, t)) * float64(len(stops)-1)
	i := int(t)
	if i >= len(stops)-1 {
		return stops[len(stops)-1]
	}
	f := t - float64(i)
	a, b := stops[i], stops[i+1]
	return rgb{a.r + (b.r-a.r)*f, a.g + (b.g-a.g)*f, a.b + (b.b-a.b)*f}
}

// sequential colours v in [0, 1].
func sequential(v float64) rgb { return ramp(viridis, v) }

// diverging colours v in [-1, 1], white at 0.
func diverging(v float64) rgb { return ramp(puOr, (v+1)/2) }
