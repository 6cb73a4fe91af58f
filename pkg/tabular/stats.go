package tabular

import (
	"slices"
	"sort"
)

// impute returns SimpleImputer's statistic of vals (not empty). It sorts
// vals.
func impute(vals []float64, strategy string) float64 {
	switch strategy {
	case ImputeMedian:
		slices.Sort(vals)
		m := len(vals) / 2
		if len(vals)%2 == 1 {
			return vals[m]
		}
		return (vals[m-1] + vals[m]) / 2
	case ImputeMostFrequent:
		// The most frequent value; on a tie the smallest, as scipy's mode.
		slices.Sort(vals)
		best, bestN := vals[0], 0
		for i := 0; i < len(vals); {
			k := i
			for k < len(vals) && vals[k] == vals[i] {
				k++
			}
			if k-i > bestN {
				best, bestN = vals[i], k-i
			}
			i = k
		}
		return best
	default:
		sum := 0.0
		for _, v := range vals {
			sum += v
		}
		return sum / float64(len(vals))
	}
}

// groupCategories sets c's categories, shares and infrequent group from
// the training counts as OneHotEncoder(max_categories, min_frequency)
// does: categories sorted; those under min_frequency are infrequent; if
// more than max_categories (counting the infrequent group as one) remain,
// the least frequent are grouped too, ties broken by a stable sort, so
// the earlier category in sorted order is grouped first.
//
// dict holds the distinct values in any order and counts their training
// counts; groupCategories returns the code of each dict entry.
func groupCategories(c *Column, dict []string, dictCounts []int, rows int, s Spec) []int32 {
	order := make([]int, len(dict)) // sorted index → dict index
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return dict[order[a]] < dict[order[b]] })
	cats := make([]string, len(dict))
	counts := make(map[string]int, len(dict))
	for i, o := range order {
		cats[i] = dict[o]
		counts[cats[i]] = dictCounts[o]
	}
	infrequent := make([]bool, len(cats))
	if m := s.MinFrequency; m > 0 {
		limit := m
		if m < 1 {
			limit = float64(rows) * m
		}
		for i, v := range cats {
			infrequent[i] = float64(counts[v]) < limit
		}
	}
	grouped := 0
	for _, b := range infrequent {
		if b {
			grouped++
		}
	}
	if mc := s.MaxCategories; mc > 0 && mc < len(cats)-grouped+1 {
		byCount := make([]int, len(cats))
		for i := range byCount {
			byCount[i] = i
		}
		sort.SliceStable(byCount, func(a, b int) bool { return counts[cats[byCount[a]]] < counts[cats[byCount[b]]] })
		for _, i := range byCount[:len(cats)-(mc-1)] {
			infrequent[i] = true
		}
	}
	n := float64(rows)
	sorted := make([]int32, len(cats)) // sorted index → code
	for i, v := range cats {
		share := float64(counts[v]) / n
		if infrequent[i] {
			c.Infrequent = append(c.Infrequent, v)
			c.InfrequentShare += share
			continue
		}
		sorted[i] = int32(len(c.Categories))
		c.Categories = append(c.Categories, v)
		c.Shares = append(c.Shares, share)
	}
	code := make([]int32, len(dict))
	for i, o := range order {
		if infrequent[i] {
			code[o] = int32(len(c.Categories))
		} else {
			code[o] = sorted[i]
		}
	}
	return code
}
