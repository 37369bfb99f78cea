package proto

import "github.com/distmr/dist/io/storage"

// UploadOf is the wire form of a part a worker left pending in S3.
func UploadOf(p storage.Pending) *Upload {
	u := &Upload{Name: p.Name, UploadID: p.UploadID, Size: p.Size, CRC32C: p.CRC32C}
	for _, part := range p.Parts {
		u.Parts = append(u.Parts, UploadPart{Number: part.Number, ETag: part.ETag, Size: part.Size})
	}
	return u
}

// Pending is the part as the store's Commit and Abort take it.
func (u *Upload) Pending() storage.Pending {
	p := storage.Pending{Name: u.Name, UploadID: u.UploadID, Size: u.Size, CRC32C: u.CRC32C}
	for _, part := range u.Parts {
		p.Parts = append(p.Parts, storage.UploadPart{Number: part.Number, ETag: part.ETag, Size: part.Size})
	}
	return p
}
