package zgw

import (
	"encoding/json"
	"time"
)

// Ondertekening says how and when a document was signed.
type Ondertekening struct {
	Soort string `json:"soort"` // analoog, digitaal, pki
	Datum string `json:"datum"` // date, YYYY-MM-DD
}

// Integriteit is a checksum of the document content.
type Integriteit struct {
	Algoritme string `json:"algoritme"` // e.g. sha_256
	Waarde    string `json:"waarde"`
	Datum     string `json:"datum"` // date, YYYY-MM-DD
}

// BestandsDeel is one part of a chunked upload, as announced by the DRC.
type BestandsDeel struct {
	URL        string `json:"url"`
	Volgnummer int    `json:"volgnummer"`
	Omvang     int64  `json:"omvang"`
	Voltooid   bool   `json:"voltooid"`
	Lock       string `json:"lock,omitempty"`
	Inhoud     string `json:"inhoud,omitempty"`
}

// EnkelvoudigInformatieObject is a document (one version of it) as the DRC returns it. Inhoud is
// the download URL in responses.
type EnkelvoudigInformatieObject struct {
	URL                         string         `json:"url"`
	Identificatie               string         `json:"identificatie,omitempty"`
	Bronorganisatie             string         `json:"bronorganisatie"`
	Creatiedatum                string         `json:"creatiedatum"`
	Titel                       string         `json:"titel"`
	Vertrouwelijkheidaanduiding string         `json:"vertrouwelijkheidaanduiding,omitempty"`
	Auteur                      string         `json:"auteur"`
	Status                      string         `json:"status,omitempty"`
	InhoudIsVervallen           *bool          `json:"inhoudIsVervallen,omitempty"`
	Formaat                     string         `json:"formaat,omitempty"`
	Taal                        string         `json:"taal"`
	Versie                      int            `json:"versie"`
	BeginRegistratie            string         `json:"beginRegistratie"`
	Bestandsnaam                string         `json:"bestandsnaam,omitempty"`
	Inhoud                      string         `json:"inhoud,omitempty"`
	Bestandsomvang              *int64         `json:"bestandsomvang,omitempty"`
	Link                        string         `json:"link,omitempty"`
	Beschrijving                string         `json:"beschrijving,omitempty"`
	Ontvangstdatum              string         `json:"ontvangstdatum,omitempty"`
	Verzenddatum                string         `json:"verzenddatum,omitempty"`
	IndicatieGebruiksrecht      *bool          `json:"indicatieGebruiksrecht,omitempty"`
	Verschijningsvorm           string         `json:"verschijningsvorm,omitempty"`
	Ondertekening               *Ondertekening `json:"ondertekening,omitempty"`
	Integriteit                 *Integriteit   `json:"integriteit,omitempty"`
	Informatieobjecttype        string         `json:"informatieobjecttype"`
	Locked                      bool           `json:"locked"`
	Bestandsdelen               []BestandsDeel `json:"bestandsdelen"`
	Trefwoorden                 []string       `json:"trefwoorden,omitempty"`
	// Lock is only filled in the answer to a create that started a chunked upload.
	Lock string `json:"lock,omitempty"`
}

// UnmarshalJSON decodes tolerantly: providers send an unset ondertekening or integriteit as null or
// as an object of empty strings, and dates or enums as null or "". Both come out as the zero value.
func (e *EnkelvoudigInformatieObject) UnmarshalJSON(b []byte) error {
	type plain EnkelvoudigInformatieObject
	var w struct {
		plain
		Ontvangstdatum *string `json:"ontvangstdatum"`
		Verzenddatum   *string `json:"verzenddatum"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = EnkelvoudigInformatieObject(w.plain)
	e.Ontvangstdatum, e.Verzenddatum = deref(w.Ontvangstdatum), deref(w.Verzenddatum)
	if o := e.Ondertekening; o != nil && o.Soort == "" && o.Datum == "" {
		e.Ondertekening = nil
	}
	if i := e.Integriteit; i != nil && i.Algoritme == "" && i.Waarde == "" && i.Datum == "" {
		e.Integriteit = nil
	}
	return nil
}

// UnmarshalJSON accepts null for any field.
func (o *Ondertekening) UnmarshalJSON(b []byte) error {
	var w struct{ Soort, Datum *string }
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	o.Soort, o.Datum = deref(w.Soort), deref(w.Datum)
	return nil
}

// UnmarshalJSON accepts null for any field.
func (i *Integriteit) UnmarshalJSON(b []byte) error {
	var w struct{ Algoritme, Waarde, Datum *string }
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	i.Algoritme, i.Waarde, i.Datum = deref(w.Algoritme), deref(w.Waarde), deref(w.Datum)
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// EIOFields are the metadata fields signingd writes when it creates a document or a new version.
// Empty fields are not sent, so a PATCH only changes what is set. Content (inhoud, bestandsomvang)
// is passed separately to the upload methods.
type EIOFields struct {
	Identificatie               string         `json:"identificatie,omitempty"`
	Bronorganisatie             string         `json:"bronorganisatie,omitempty"`
	Creatiedatum                string         `json:"creatiedatum,omitempty"`
	Titel                       string         `json:"titel,omitempty"`
	Vertrouwelijkheidaanduiding string         `json:"vertrouwelijkheidaanduiding,omitempty"`
	Auteur                      string         `json:"auteur,omitempty"`
	Status                      string         `json:"status,omitempty"`
	Formaat                     string         `json:"formaat,omitempty"`
	Taal                        string         `json:"taal,omitempty"`
	Bestandsnaam                string         `json:"bestandsnaam,omitempty"`
	Link                        string         `json:"link,omitempty"`
	Beschrijving                string         `json:"beschrijving,omitempty"`
	IndicatieGebruiksrecht      *bool          `json:"indicatieGebruiksrecht,omitempty"`
	Verschijningsvorm           string         `json:"verschijningsvorm,omitempty"`
	Ondertekening               *Ondertekening `json:"ondertekening,omitempty"`
	Integriteit                 *Integriteit   `json:"integriteit,omitempty"`
	Informatieobjecttype        string         `json:"informatieobjecttype,omitempty"`
	Trefwoorden                 []string       `json:"trefwoorden,omitempty"`
}

// Zaak holds the fields of a zaak signingd reads.
type Zaak struct {
	URL                          string `json:"url"`
	UUID                         string `json:"uuid,omitempty"`
	Identificatie                string `json:"identificatie,omitempty"`
	Bronorganisatie              string `json:"bronorganisatie"`
	Omschrijving                 string `json:"omschrijving,omitempty"`
	Zaaktype                     string `json:"zaaktype"`
	Registratiedatum             string `json:"registratiedatum,omitempty"`
	VerantwoordelijkeOrganisatie string `json:"verantwoordelijkeOrganisatie,omitempty"`
	Startdatum                   string `json:"startdatum,omitempty"`
	Einddatum                    string `json:"einddatum,omitempty"`
	Vertrouwelijkheidaanduiding  string `json:"vertrouwelijkheidaanduiding,omitempty"`
	Status                       string `json:"status,omitempty"`
	Archiefstatus                string `json:"archiefstatus,omitempty"`
}

// UnmarshalJSON accepts null for the nullable fields.
func (z *Zaak) UnmarshalJSON(b []byte) error {
	var w struct {
		URL, UUID, Identificatie, Bronorganisatie, Omschrijving, Zaaktype, Registratiedatum *string
		VerantwoordelijkeOrganisatie, Startdatum, Einddatum, Vertrouwelijkheidaanduiding    *string
		Status, Archiefstatus                                                               *string
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*z = Zaak{
		URL: deref(w.URL), UUID: deref(w.UUID), Identificatie: deref(w.Identificatie),
		Bronorganisatie: deref(w.Bronorganisatie), Omschrijving: deref(w.Omschrijving), Zaaktype: deref(w.Zaaktype),
		Registratiedatum: deref(w.Registratiedatum), VerantwoordelijkeOrganisatie: deref(w.VerantwoordelijkeOrganisatie),
		Startdatum: deref(w.Startdatum), Einddatum: deref(w.Einddatum),
		Vertrouwelijkheidaanduiding: deref(w.Vertrouwelijkheidaanduiding), Status: deref(w.Status),
		Archiefstatus: deref(w.Archiefstatus),
	}
	return nil
}

// ZaakInformatieObject links a document to a zaak.
type ZaakInformatieObject struct {
	URL                 string `json:"url,omitempty"`
	UUID                string `json:"uuid,omitempty"`
	Informatieobject    string `json:"informatieobject"`
	Zaak                string `json:"zaak"`
	AardRelatieWeergave string `json:"aardRelatieWeergave,omitempty"`
	Titel               string `json:"titel,omitempty"`
	Beschrijving        string `json:"beschrijving,omitempty"`
	Registratiedatum    string `json:"registratiedatum,omitempty"`
}

// UnmarshalJSON accepts null for the nullable fields.
func (z *ZaakInformatieObject) UnmarshalJSON(b []byte) error {
	var w struct {
		URL, UUID, Informatieobject, Zaak, AardRelatieWeergave, Titel, Beschrijving, Registratiedatum *string
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*z = ZaakInformatieObject{
		URL: deref(w.URL), UUID: deref(w.UUID), Informatieobject: deref(w.Informatieobject), Zaak: deref(w.Zaak),
		AardRelatieWeergave: deref(w.AardRelatieWeergave), Titel: deref(w.Titel), Beschrijving: deref(w.Beschrijving),
		Registratiedatum: deref(w.Registratiedatum),
	}
	return nil
}

// Kanaal is an NRC channel.
type Kanaal struct {
	URL              string   `json:"url,omitempty"`
	Naam             string   `json:"naam"`
	DocumentatieLink string   `json:"documentatieLink,omitempty"`
	Filters          []string `json:"filters"`
}

// Notificatie is the NRC Message.
type Notificatie struct {
	Kanaal       string            `json:"kanaal"`
	HoofdObject  string            `json:"hoofdObject"`
	Resource     string            `json:"resource"`
	ResourceURL  string            `json:"resourceUrl"`
	Actie        string            `json:"actie"`
	Aanmaakdatum time.Time         `json:"aanmaakdatum"`
	Kenmerken    map[string]string `json:"kenmerken,omitempty"`
}

// InformatieObjectType holds the fields of an informatieobjecttype signingd reads.
type InformatieObjectType struct {
	URL                         string  `json:"url"`
	Catalogus                   string  `json:"catalogus"`
	Omschrijving                string  `json:"omschrijving"`
	Vertrouwelijkheidaanduiding string  `json:"vertrouwelijkheidaanduiding"`
	BeginGeldigheid             string  `json:"beginGeldigheid"`
	EindeGeldigheid             *string `json:"eindeGeldigheid,omitempty"`
	Concept                     bool    `json:"concept"`
	// zaaktypen is left out: Catalogi 1.3.1 declares it a string, implementations send an array.
}
