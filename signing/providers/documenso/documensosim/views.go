package documensosim

import "time"

// The JSON Documenso answers with (packages/lib/types/envelope.ts, recipient.ts, field.ts).

func ts(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func nonNil(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}

func (e *envelope) recipientJSON(r *Recipient) map[string]any {
	var order any
	if r.SigningOrder != nil {
		order = *r.SigningOrder
	}
	var reason any
	if r.RejectionReason != "" {
		reason = r.RejectionReason
	}
	return map[string]any{
		"envelopeId": e.ID, "role": r.Role, "readStatus": r.ReadStatus, "signingStatus": r.SigningStatus,
		"sendStatus": r.SendStatus, "id": r.ID, "email": r.Email, "name": r.Name, "token": r.Token,
		"documentDeletedAt": nil, "expired": nil, "expiresAt": ts(r.ExpiresAt), "expirationNotifiedAt": nil,
		"signedAt": ts(r.SignedAt), "signingOrder": order, "rejectionReason": reason,
		"authOptions": map[string]any{"accessAuth": nonNil(r.AccessAuth), "actionAuth": nonNil(r.ActionAuth)},
	}
}

func (e *envelope) recipientsJSON() []map[string]any {
	out := make([]map[string]any, 0, len(e.Recipients))
	for _, r := range e.Recipients {
		out = append(out, e.recipientJSON(r))
	}
	return out
}

func (e *envelope) metaJSON() map[string]any {
	m := map[string]any{"id": "meta_" + e.SecondaryID, "signingOrder": e.signingOrder(), "distributionMethod": "EMAIL",
		"subject": nil, "message": nil, "timezone": "Etc/UTC", "dateFormat": "yyyy-MM-dd hh:mm a", "redirectUrl": nil,
		"typedSignatureEnabled": true, "uploadSignatureEnabled": true, "drawSignatureEnabled": true,
		"allowDictateNextSigner": false, "language": "en", "emailSettings": nil, "emailId": nil, "emailReplyTo": nil,
		"envelopeExpirationPeriod": nil}
	for k, v := range e.Meta {
		m[k] = v
	}
	return m
}

func (e *envelope) common() map[string]any {
	var ext any
	if e.ExternalID != "" {
		ext = e.ExternalID
	}
	return map[string]any{
		"internalVersion": 2, "type": "DOCUMENT", "status": e.Status, "source": "DOCUMENT", "visibility": "EVERYONE",
		"templateType": "PRIVATE", "id": e.ID, "secondaryId": e.SecondaryID, "externalId": ext,
		"createdAt": ts(&e.CreatedAt), "updatedAt": ts(&e.UpdatedAt), "completedAt": ts(e.CompletedAt), "deletedAt": nil,
		"title": e.Title, "authOptions": map[string]any{"globalAccessAuth": []string{}, "globalActionAuth": []string{}},
		"formValues": nil, "publicTitle": "", "publicDescription": "", "userId": 1, "teamId": 1, "folderId": nil, "templateId": nil,
	}
}

// envelopeJSON is GET /envelope/{id}.
func (e *envelope) envelopeJSON() map[string]any {
	m := e.common()
	m["documentMeta"] = e.metaJSON()
	m["recipients"] = e.recipientsJSON()
	fields := make([]map[string]any, 0, len(e.Fields))
	for _, f := range e.Fields {
		fields = append(fields, map[string]any{"id": f.ID, "secondaryId": randomID(8), "envelopeId": e.ID, "envelopeItemId": f.ItemID,
			"recipientId": f.RecipientID, "type": f.Type, "page": f.Page, "positionX": f.PositionX, "positionY": f.PositionY,
			"width": f.Width, "height": f.Height, "customText": "", "inserted": f.Inserted, "fieldMeta": nil})
	}
	m["fields"] = fields
	items := make([]map[string]any, 0, len(e.Items))
	for _, it := range e.Items {
		items = append(items, map[string]any{"envelopeId": e.ID, "documentDataId": "data_" + it.ID, "id": it.ID, "title": it.Title, "order": it.Order})
	}
	m["envelopeItems"] = items
	m["directLink"] = nil
	m["team"] = map[string]any{"id": 1, "url": "gemeente"}
	m["user"] = map[string]any{"id": 1, "name": "Gemeente", "email": "team@gemeente.example"}
	return m
}

// manyJSON is an envelope in GET /envelope (find).
func (e *envelope) manyJSON() map[string]any {
	m := e.common()
	m["recipients"] = e.recipientsJSON()
	m["user"] = map[string]any{"id": 1, "name": "Gemeente", "email": "team@gemeente.example"}
	m["team"] = map[string]any{"id": 1, "url": "gemeente"}
	return m
}

// webhookPayload is the document in a webhook (webhooks/events.mdx): the legacy numeric id, the
// envelope id, and the recipients twice (Recipient is the legacy duplicate).
func (e *envelope) webhookPayload() map[string]any {
	m := e.common()
	m["id"] = e.LegacyID
	m["envelopeId"] = e.ID
	m["documentMeta"] = e.metaJSON()
	m["recipients"] = e.recipientsJSON()
	m["Recipient"] = e.recipientsJSON()
	return m
}

func (a auditLog) json(envelopeID string) map[string]any {
	var name, email, ip, ua any
	if a.Email != "" {
		name, email, ip, ua = a.Name, a.Email, a.IP, a.UA
	}
	data := a.Data
	if data == nil {
		data = map[string]any{}
	}
	return map[string]any{"id": a.ID, "createdAt": ts(&a.CreatedAt), "envelopeId": envelopeID, "name": name, "email": email,
		"userId": nil, "userAgent": ua, "ipAddress": ip, "type": a.Type, "data": data}
}
