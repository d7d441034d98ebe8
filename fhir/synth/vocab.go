package synth

// The clinical vocabulary the generator draws from. Codes are the ones
// Synthea and the US Core reference data use where they overlap, so that
// generated records look like the shared test data next to them.

// Code systems.
const (
	sysSNOMED         = "http://snomed.info/sct"
	sysLOINC          = "http://loinc.org"
	sysRxNorm         = "http://www.nlm.nih.gov/research/umls/rxnorm"
	sysCVX            = "http://hl7.org/fhir/sid/cvx"
	sysUCUM           = "http://unitsofmeasure.org"
	sysNPI            = "http://hl7.org/fhir/sid/us-npi"
	sysNUCC           = "http://nucc.org/provider-taxonomy"
	sysCPT            = "http://www.ama-assn.org/go/cpt"
	sysActCode        = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysRoleCode       = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	sysConfidential   = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	sysInterpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	sysParticipation  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	sysV2IDType       = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysV2DiagService  = "http://terminology.hl7.org/CodeSystem/v2-0074"
	sysV2ApptReason   = "http://terminology.hl7.org/CodeSystem/v2-0276"
	sysObsCategory    = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysCondCategory   = "http://terminology.hl7.org/CodeSystem/condition-category"
	sysCondClinical   = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	sysCondVerify     = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	sysAllergyClin    = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	sysAllergyVerify  = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	sysMedReqCategory = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
	sysRefRangeMeans  = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
	sysOrgType        = "http://terminology.hl7.org/CodeSystem/organization-type"
	sysServiceType    = "http://terminology.hl7.org/CodeSystem/service-type"
	sysCancelReason   = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
	sysCommCategory   = "http://terminology.hl7.org/CodeSystem/communication-category"
	sysCoverageClass  = "http://terminology.hl7.org/CodeSystem/coverage-class"
	sysSubscriberRel  = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
	sysDocCategory    = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
	sysCarePlanCat    = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
	sysFormatCode     = "http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem"
)

// usCore is the base of US Core profile URLs.
const usCore = "http://hl7.org/fhir/us/core/StructureDefinition/"

// code is one coding: system, code and display.
type code struct{ system, code, display string }

func sct(c, d string) code   { return code{sysSNOMED, c, d} }
func lnc(c, d string) code   { return code{sysLOINC, c, d} }
func rxn(c, d string) code   { return code{sysRxNorm, c, d} }
func cvxc(c, d string) code  { return code{sysCVX, c, d} }
func cpt(c, d string) code   { return code{sysCPT, c, d} }
func nucc(c, d string) code  { return code{sysNUCC, c, d} }
func actc(c, d string) code  { return code{sysActCode, c, d} }
func rolec(c, d string) code { return code{sysRoleCode, c, d} }

// specialty is a kind of clinician the generated orgs employ.
type specialty struct {
	key         string
	title       string // how the clinic names it
	taxonomy    code   // NUCC, as US Core PractitionerRole uses
	practice    code   // SNOMED practice setting (c80-practice-codes)
	serviceType code   // what an Appointment or Slot of this clinician is for
	noteType    code   // the LOINC type of its visit notes
	cptVisit    code   // the charge of a problem visit
}

var (
	specPrimaryCare = &specialty{
		key: "primary-care", title: "Family Medicine",
		taxonomy:    nucc("207Q00000X", "Family Medicine Physician"),
		practice:    sct("394814009", "General practice (specialty) (qualifier value)"),
		serviceType: code{sysServiceType, "124", "General Practice"},
		noteType:    lnc("11506-3", "Progress note"),
		cptVisit:    cpt("99213", "Office visit, established patient, low complexity"),
	}
	specPediatrics = &specialty{
		key: "pediatrics", title: "Pediatrics",
		taxonomy:    nucc("208000000X", "Pediatrics Physician"),
		practice:    sct("394537008", "Pediatric specialty (qualifier value)"),
		serviceType: code{sysServiceType, "200", "Paediatric Medicine"},
		noteType:    lnc("11506-3", "Progress note"),
		cptVisit:    cpt("99213", "Office visit, established patient, low complexity"),
	}
	specCardiology = &specialty{
		key: "cardiology", title: "Cardiology",
		taxonomy:    nucc("207RC0000X", "Cardiovascular Disease Physician"),
		practice:    sct("394579002", "Cardiology (qualifier value)"),
		serviceType: code{sysServiceType, "165", "Cardiology"},
		noteType:    lnc("11488-4", "Consult note"),
		cptVisit:    cpt("99214", "Office visit, established patient, moderate complexity"),
	}
	specDermatology = &specialty{
		key: "dermatology", title: "Dermatology",
		taxonomy:    nucc("207N00000X", "Dermatology Physician"),
		practice:    sct("394582007", "Dermatology (qualifier value)"),
		serviceType: code{sysServiceType, "168", "Dermatology"},
		noteType:    lnc("11488-4", "Consult note"),
		cptVisit:    cpt("99214", "Office visit, established patient, moderate complexity"),
	}
	// rosterSpecialties is the staff of a generated org, in order: two
	// primary care physicians, then one of each other specialty.
	rosterSpecialties = []*specialty{specPrimaryCare, specPrimaryCare, specPediatrics, specCardiology, specDermatology}
	allSpecialties    = []*specialty{specPrimaryCare, specPediatrics, specCardiology, specDermatology}
)

// specialtyByTaxonomy finds the specialty of an existing PractitionerRole.
func specialtyByTaxonomy(system, c string) *specialty {
	for _, s := range allSpecialties {
		if (s.taxonomy.system == system && s.taxonomy.code == c) || (s.practice.system == system && s.practice.code == c) {
			return s
		}
	}
	return nil
}

// Encounter types.
var (
	encCheckUp    = sct("185349003", "Encounter for check up (procedure)")
	encWellChild  = sct("410620009", "Well child visit (procedure)")
	encSymptom    = sct("185345009", "Encounter for symptom (procedure)")
	encFollowUp   = sct("390906007", "Follow-up encounter (procedure)")
	encConsult    = sct("11429006", "Consultation (procedure)")
	encClassAmb   = actc("AMB", "ambulatory")
	noteHandP     = lnc("34117-2", "History and physical note")
	apptRoutine   = code{sysV2ApptReason, "ROUTINE", "Routine appointment - default if not valued"}
	apptCheckup   = code{sysV2ApptReason, "CHECKUP", "A routine check-up, such as an annual physical"}
	apptFollowUp  = code{sysV2ApptReason, "FOLLOWUP", "A follow up visit from a previous appointment"}
	cancelPatient = code{sysCancelReason, "pat", "Patient"}
)

// analyte is one laboratory test with its UCUM unit, normal range (a zero
// bound is open) and the distribution of values in a healthy person.
type analyte struct {
	code      code
	unit      string
	decimals  int
	low, high float64
	mean, sd  float64
}

// panel is a laboratory order reported as one DiagnosticReport.
type panel struct {
	code     code
	cpt      code
	analytes []analyte
}

var (
	panelCBC = panel{
		code: lnc("58410-2", "Complete blood count (hemogram) panel - Blood by Automated count"),
		cpt:  cpt("85025", "Complete blood count with automated differential"),
		analytes: []analyte{
			{lnc("6690-2", "Leukocytes [#/volume] in Blood by Automated count"), "10*3/uL", 1, 3.8, 10.8, 7.0, 1.6},
			{lnc("789-8", "Erythrocytes [#/volume] in Blood by Automated count"), "10*6/uL", 2, 4.2, 5.8, 4.9, 0.35},
			{lnc("718-7", "Hemoglobin [Mass/volume] in Blood"), "g/dL", 1, 12.0, 17.0, 14.2, 1.1},
			{lnc("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count"), "%", 1, 36.0, 50.0, 42.5, 3.0},
			{lnc("777-3", "Platelets [#/volume] in Blood by Automated count"), "10*3/uL", 0, 140, 400, 260, 55},
		},
	}
	panelBMP = panel{
		code: lnc("51990-0", "Basic metabolic panel - Blood"),
		cpt:  cpt("80048", "Basic metabolic panel"),
		analytes: []analyte{
			{lnc("2339-0", "Glucose [Mass/volume] in Blood"), "mg/dL", 0, 65, 99, 88, 9},
			{lnc("6299-2", "Urea nitrogen [Mass/volume] in Blood"), "mg/dL", 0, 7, 25, 14, 4},
			{lnc("38483-4", "Creatinine [Mass/volume] in Blood"), "mg/dL", 2, 0.6, 1.3, 0.9, 0.15},
			{lnc("49765-1", "Calcium [Mass/volume] in Blood"), "mg/dL", 1, 8.6, 10.3, 9.5, 0.4},
			{lnc("2947-0", "Sodium [Moles/volume] in Blood"), "mmol/L", 0, 135, 146, 140, 2.5},
			{lnc("6298-4", "Potassium [Moles/volume] in Blood"), "mmol/L", 1, 3.5, 5.3, 4.3, 0.35},
			{lnc("2069-3", "Chloride [Moles/volume] in Blood"), "mmol/L", 0, 98, 110, 103, 2.5},
			{lnc("20565-8", "Carbon dioxide, total [Moles/volume] in Blood"), "mmol/L", 0, 20, 32, 26, 2.5},
		},
	}
	panelLipid = panel{
		code: lnc("57698-3", "Lipid panel with direct LDL - Serum or Plasma"),
		cpt:  cpt("80061", "Lipid panel"),
		analytes: []analyte{
			{lnc("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"), "mg/dL", 0, 0, 200, 180, 25},
			{lnc("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma"), "mg/dL", 0, 0, 150, 120, 35},
			{lnc("18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay"), "mg/dL", 0, 0, 100, 98, 22},
			{lnc("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma"), "mg/dL", 0, 40, 0, 55, 12},
		},
	}
	panelA1c = panel{
		code: lnc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
		cpt:  cpt("83036", "Hemoglobin A1c"),
		analytes: []analyte{
			{lnc("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"), "%", 1, 4.0, 5.6, 5.2, 0.3},
		},
	}
	knownPanels = []panel{panelCBC, panelBMP, panelLipid, panelA1c}
)

// sensitiveTest is a result a network may hold for a clinician to release
// first. Its value is qualitative; security is the v3-ActCode information
// sensitivity policy that labels it (empty when none fits).
type sensitiveTest struct {
	code     code
	cpt      code
	minAge   int
	maxAge   int // 0: no upper bound
	category code
	security code
}

var (
	negative      = sct("260385009", "Negative")
	catLab        = code{sysV2DiagService, "LAB", "Laboratory"}
	catGenetics   = code{sysV2DiagService, "GE", "Genetics"}
	sensitiveHIV  = code{sysActCode, "HIV", "HIV/AIDS information sensitivity"}
	sensitiveSTD  = code{sysActCode, "STD", "sexually transmitted disease information sensitivity"}
	sensitiveGDIS = code{sysActCode, "GDIS", "genetic disease information sensitivity"}
	restricted    = code{sysConfidential, "R", "restricted"}

	// knownSensitiveTests describes the default sensitive codes and any
	// listed code the generator knows how to report.
	knownSensitiveTests = []sensitiveTest{
		{lnc("56888-1", "HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay"), cpt("87389", "HIV-1/HIV-2 antigen and antibody screen"), 13, 0, catLab, sensitiveHIV},
		{lnc("43304-5", "Chlamydia trachomatis rRNA [Presence] in Specimen by NAA with probe detection"), cpt("87491", "Chlamydia trachomatis, amplified probe technique"), 15, 30, catLab, sensitiveSTD},
		{lnc("21636-6", "BRCA1 gene mutation analysis"), cpt("81479", "Unlisted molecular pathology procedure"), 18, 0, catGenetics, sensitiveGDIS},
	}
)

// defaultSensitiveCodes are held when Options.SensitiveCodes is empty:
// HIV screening, chlamydia testing and genetic testing.
var defaultSensitiveCodes = []string{
	sysLOINC + "|56888-1",
	sysLOINC + "|43304-5",
	sysLOINC + "|21636-6",
}

// chronicDef is a long-running condition: who gets it, what treats it and
// how it moves lab results and vitals.
type chronicDef struct {
	code      code
	minAge    int
	chance    float64
	med       *medDef
	specialty *specialty // who follows it besides primary care
	carePlan  *carePlanDef
	labShift  map[string]float64 // LOINC code → added to the mean
	bpShift   float64            // added to systolic blood pressure
}

// medDef is a medication with how it is taken.
type medDef struct {
	code      code
	dosage    string
	asNeeded  bool
	perDay    int // doses a day (0 for as needed)
	supplyDay int // days one fill lasts
	quantity  int
	unit      string // UCUM unit of quantity
}

// carePlanDef is a care plan for a condition with its goal.
type carePlanDef struct {
	category   code
	activities []code
	goal       string
}

var (
	medLisinopril   = &medDef{rxn("314076", "lisinopril 10 MG Oral Tablet"), "Take 1 tablet by mouth once daily.", false, 1, 90, 90, "{tbl}"}
	medSimvastatin  = &medDef{rxn("312961", "Simvastatin 20 MG Oral Tablet"), "Take 1 tablet by mouth at bedtime.", false, 1, 90, 90, "{tbl}"}
	medMetformin    = &medDef{rxn("860975", "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet"), "Take 1 tablet by mouth with the evening meal.", false, 1, 90, 90, "{tbl}"}
	medAlbuterol    = &medDef{rxn("2123111", "NDA020503 200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler"), "Inhale 2 puffs every 4 to 6 hours as needed for wheezing.", true, 0, 30, 1, "{inhaler}"}
	medCetirizine   = &medDef{rxn("1014676", "cetirizine hydrochloride 5 MG Oral Tablet"), "Take 1 tablet by mouth once daily during allergy season.", false, 1, 30, 30, "{tbl}"}
	medLevothyroxin = &medDef{rxn("966222", "Levothyroxine Sodium 0.05 MG Oral Tablet"), "Take 1 tablet by mouth every morning before breakfast.", false, 1, 90, 90, "{tbl}"}
	medWarfarin     = &medDef{rxn("855332", "Warfarin Sodium 5 MG Oral Tablet"), "Take 1 tablet by mouth once daily or as directed by the anticoagulation clinic.", false, 1, 30, 30, "{tbl}"}
	medAcetaminophn = &medDef{rxn("313782", "Acetaminophen 325 MG Oral Tablet"), "Take 2 tablets by mouth every 6 hours as needed for pain.", true, 0, 30, 60, "{tbl}"}

	chronicHypertension = &chronicDef{
		code: sct("59621000", "Essential hypertension (disorder)"), minAge: 30, chance: 0.3,
		med: medLisinopril, specialty: specCardiology, bpShift: 16,
		carePlan: &carePlanDef{sct("385715006", "Cardiac care (regime/therapy)"),
			[]code{sct("386619000", "Low sodium diet (finding)"), sct("229065009", "Exercise therapy")},
			"Blood pressure below 130/80 mm[Hg]"},
	}
	chronicHyperlipidemia = &chronicDef{
		code: sct("55822004", "Hyperlipidemia (disorder)"), minAge: 35, chance: 0.25,
		med: medSimvastatin, specialty: specCardiology,
		labShift: map[string]float64{"2093-3": 45, "18262-6": 40, "2571-8": 40},
	}
	chronicDiabetes = &chronicDef{
		code: sct("44054006", "Diabetes mellitus type 2 (disorder)"), minAge: 35, chance: 0.12,
		med:      medMetformin,
		labShift: map[string]float64{"2339-0": 45, "4548-4": 1.9},
		carePlan: &carePlanDef{sct("698360004", "Diabetes self management plan"),
			[]code{sct("160670007", "Diabetic diet"), sct("229065009", "Exercise therapy")},
			"Hemoglobin A1c below 7.0 %"},
	}
	chronicPrediabetes = &chronicDef{
		code: sct("15777000", "Prediabetes"), minAge: 25, chance: 0.1,
		labShift: map[string]float64{"2339-0": 14, "4548-4": 0.7},
	}
	chronicAsthma = &chronicDef{
		code: sct("195967001", "Asthma"), minAge: 3, chance: 0.1,
		med: medAlbuterol,
		carePlan: &carePlanDef{sct("699728000", "Asthma self management"),
			[]code{sct("710818004", "Inhaled steroid therapy"), sct("708409001", "Home nebulizer therapy")},
			"Asthma symptoms on fewer than 2 days a week"},
	}
	chronicRhinitis = &chronicDef{
		code: sct("367498001", "Seasonal allergic rhinitis (disorder)"), minAge: 4, chance: 0.2,
		med: medCetirizine,
	}
	chronicHypothyroid = &chronicDef{
		code: sct("40930008", "Hypothyroidism (disorder)"), minAge: 30, chance: 0.06,
		med: medLevothyroxin,
	}
	chronicEczema = &chronicDef{
		code: sct("24079001", "Atopic dermatitis (disorder)"), minAge: 1, chance: 0.1,
		specialty: specDermatology,
	}
	chronicAFib = &chronicDef{
		code: sct("49436004", "Atrial fibrillation (disorder)"), minAge: 65, chance: 0.15,
		med: medWarfarin, specialty: specCardiology,
	}
	chronicKneeOA = &chronicDef{
		code: sct("239873007", "Osteoarthritis of knee"), minAge: 55, chance: 0.2,
		med: medAcetaminophn,
	}
	chronicDefs = []*chronicDef{
		chronicHypertension, chronicHyperlipidemia, chronicDiabetes, chronicPrediabetes, chronicAsthma,
		chronicRhinitis, chronicHypothyroid, chronicEczema, chronicAFib, chronicKneeOA,
	}
)

// acuteDef is a short illness seen at one visit: its diagnosis, what is
// prescribed (alt when the person is allergic to penicillin) and any
// procedure done.
type acuteDef struct {
	code      code
	minAge    int
	maxAge    int
	med       *medDef
	alt       *medDef
	procedure *code
	chiefNote string
}

var (
	medPenicillinV = &medDef{rxn("834061", "Penicillin V Potassium 250 MG Oral Tablet"), "Take 1 tablet by mouth every 6 hours for 10 days.", false, 4, 10, 40, "{tbl}"}
	medAmoxicillin = &medDef{rxn("308182", "Amoxicillin 250 MG Oral Capsule"), "Take 1 capsule by mouth every 8 hours for 10 days.", false, 3, 10, 30, "{capsule}"}
	medAmoxClav    = &medDef{rxn("562251", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet"), "Take 1 tablet by mouth every 8 hours for 7 days.", false, 3, 7, 21, "{tbl}"}
	medCefuroxime  = &medDef{rxn("309097", "Cefuroxime 250 MG Oral Tablet"), "Take 1 tablet by mouth twice daily for 10 days.", false, 2, 10, 20, "{tbl}"}
	medIbuprofen   = &medDef{rxn("198405", "Ibuprofen 100 MG Oral Tablet"), "Take 2 tablets by mouth every 6 hours as needed for pain.", true, 0, 10, 40, "{tbl}"}
	medNaproxen    = &medDef{rxn("849574", "Naproxen sodium 220 MG Oral Tablet"), "Take 1 tablet by mouth every 12 hours as needed for pain.", true, 0, 10, 20, "{tbl}"}
	medColdSyrup   = &medDef{rxn("1043400", "Acetaminophen 21.7 MG/ML / Dextromethorphan Hydrobromide 1 MG/ML / doxylamine succinate 0.417 MG/ML Oral Solution"), "Take 15 mL by mouth at bedtime as needed for cough.", true, 0, 7, 118, "mL"}

	procThroatCulture = sct("117015009", "Throat culture (procedure)")
	procMedRecon      = sct("430193006", "Medication Reconciliation (procedure)")
	procDepression    = sct("171207006", "Depression screening (procedure)")
	procECG           = sct("29303009", "Electrocardiographic procedure")
	procSkinBiopsy    = sct("240977001", "Biopsy of skin (procedure)")

	acuteDefs = []*acuteDef{
		{sct("444814009", "Viral sinusitis (disorder)"), 2, 0, medAcetaminophn, nil, nil, "Nasal congestion and facial pressure for five days."},
		{sct("10509002", "Acute bronchitis (disorder)"), 12, 0, medColdSyrup, nil, nil, "Cough for ten days, no fever."},
		{sct("195662009", "Acute viral pharyngitis (disorder)"), 3, 0, medAcetaminophn, nil, nil, "Sore throat and low-grade fever."},
		{sct("43878008", "Streptococcal sore throat (disorder)"), 3, 40, medPenicillinV, medCefuroxime, &procThroatCulture, "Sore throat, fever and swollen glands."},
		{sct("65363002", "Otitis media"), 1, 11, medAmoxicillin, medCefuroxime, nil, "Ear pain and trouble sleeping for two days."},
		{sct("44465007", "Sprain of ankle"), 8, 0, medNaproxen, medIbuprofen, nil, "Twisted ankle playing sports; swelling, able to bear weight."},
		{sct("75498004", "Acute bacterial sinusitis (disorder)"), 12, 0, medAmoxClav, medCefuroxime, nil, "Sinus pain and discolored discharge for twelve days."},
	}
)

// allergyDef is a substance a person may be allergic to.
type allergyDef struct {
	code        code
	category    string // medication | food | environment
	penicillin  bool
	maxOnsetAge int
	chance      float64
	reactions   []code
}

var (
	reactHives       = sct("247472004", "Wheal (finding)")
	reactRash        = sct("271807003", "Eruption of skin (disorder)")
	reactAnaphylaxis = sct("39579001", "Anaphylaxis (disorder)")
	reactRhinitis    = sct("878820003", "Rhinoconjunctivitis (disorder)")
	noKnownAllergy   = sct("716186003", "No known allergy (situation)")

	allergyDefs = []*allergyDef{
		{rxn("7980", "Penicillin G"), "medication", true, 60, 0.08, []code{reactHives, reactRash}},
		{sct("762952008", "Peanut (substance)"), "food", false, 5, 0.03, []code{reactAnaphylaxis, reactHives}},
		{sct("256277009", "Grass pollen (substance)"), "environment", false, 30, 0.08, []code{reactRhinitis}},
		{sct("260147004", "House dust mite (organism)"), "environment", false, 30, 0.05, []code{reactRhinitis}},
		{sct("111088007", "Latex (substance)"), "environment", false, 50, 0.02, []code{reactRash}},
	}
)

// vaccineDose is one dose of the routine schedule, at an age in months.
type vaccineDose struct {
	vaccine code
	months  int
}

var (
	vaxHepB    = cvxc("08", "Hep B, adolescent or pediatric")
	vaxDTaP    = cvxc("20", "DTaP")
	vaxHib     = cvxc("49", "Hib (PRP-OMP)")
	vaxIPV     = cvxc("10", "IPV")
	vaxPCV13   = cvxc("133", "Pneumococcal conjugate PCV 13")
	vaxRota    = cvxc("119", "rotavirus, monovalent")
	vaxMMR     = cvxc("03", "MMR")
	vaxVZV     = cvxc("21", "varicella")
	vaxHepA    = cvxc("83", "Hep A, ped/adol, 2 dose")
	vaxTdap    = cvxc("115", "Tdap")
	vaxHPV     = cvxc("62", "HPV, quadrivalent")
	vaxMenACWY = cvxc("114", "meningococcal MCV4P")
	vaxTd      = cvxc("113", "Td (adult), 5 Lf tetanus toxoid, preservative free, adsorbed")
	vaxZoster  = cvxc("187", "zoster vaccine recombinant")
	vaxPPSV23  = cvxc("33", "pneumococcal polysaccharide PPV23")
	vaxFlu     = cvxc("140", "Influenza, seasonal, injectable, preservative free")

	// routineSchedule is the US childhood and adult schedule, simplified.
	routineSchedule = []vaccineDose{
		{vaxHepB, 0}, {vaxHepB, 1}, {vaxHepB, 6},
		{vaxDTaP, 2}, {vaxDTaP, 4}, {vaxDTaP, 6}, {vaxDTaP, 15}, {vaxDTaP, 48},
		{vaxHib, 2}, {vaxHib, 4}, {vaxHib, 12},
		{vaxIPV, 2}, {vaxIPV, 4}, {vaxIPV, 6}, {vaxIPV, 48},
		{vaxPCV13, 2}, {vaxPCV13, 4}, {vaxPCV13, 6}, {vaxPCV13, 12},
		{vaxRota, 2}, {vaxRota, 4},
		{vaxMMR, 12}, {vaxMMR, 48},
		{vaxVZV, 12}, {vaxVZV, 48},
		{vaxHepA, 12}, {vaxHepA, 18},
		{vaxTdap, 132}, {vaxHPV, 132}, {vaxHPV, 138}, {vaxMenACWY, 132}, {vaxMenACWY, 192},
		{vaxTd, 252}, {vaxTd, 372}, {vaxTd, 492}, {vaxTd, 612}, {vaxTd, 732}, {vaxTd, 852},
		{vaxZoster, 600}, {vaxZoster, 602},
		{vaxPPSV23, 780},
	}
)

// Vital signs and social history.
var (
	vitalBP       = lnc("85354-9", "Blood pressure panel with all children optional")
	vitalSystolic = lnc("8480-6", "Systolic blood pressure")
	vitalDiastol  = lnc("8462-4", "Diastolic blood pressure")
	vitalHR       = lnc("8867-4", "Heart rate")
	vitalRR       = lnc("9279-1", "Respiratory rate")
	vitalSpO2     = lnc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")
	vitalSaO2     = lnc("2708-6", "Oxygen saturation in Arterial blood")
	vitalTemp     = lnc("8310-5", "Body temperature")
	vitalHeight   = lnc("8302-2", "Body height")
	vitalWeight   = lnc("29463-7", "Body weight")
	vitalBMI      = lnc("39156-5", "Body mass index (BMI) [Ratio]")
	smokingStatus = lnc("72166-2", "Tobacco smoking status")

	neverSmoker   = sct("266919005", "Never smoked tobacco (finding)")
	formerSmoker  = sct("8517006", "Ex-smoker (finding)")
	currentSmoker = sct("449868002", "Smokes tobacco daily (finding)")
)

// relationshipDisplays are the v3-RoleCode family relationships a Relative
// may have.
var relationshipDisplays = map[string]string{
	"MTH": "mother", "FTH": "father", "PRN": "parent", "STPPRN": "step parent",
	"CHILD": "child", "DAU": "natural daughter", "SON": "natural son",
	"SPS": "spouse", "HUSB": "husband", "WIFE": "wife", "DOMPART": "domestic partner",
	"GUARD": "guardian", "SIB": "sibling", "BRO": "brother", "SIS": "sister",
	"GRPRN": "grandparent", "GRMTH": "grandmother", "GRFTH": "grandfather",
	"FAMMEMB": "family member", "FRND": "unrelated friend",
}

// isParentRole reports whether a relationship makes the relative a parent or
// legal guardian of the patient: the one who pays and acts for a minor.
func isParentRole(rel string) bool {
	switch rel {
	case "MTH", "FTH", "PRN", "STPPRN", "GUARD":
		return true
	}
	return false
}

// payer is a health plan.
type payer struct {
	key, name, phone string
	planType         code
}

var (
	planPPO = actc("PPO", "preferred provider organization policy")
	planHMO = actc("HMO", "health maintenance organization policy")

	payers = []payer{
		{"blue-harbor", "Blue Harbor Health Plan", "800-555-0141", planPPO},
		{"summit-mutual", "Summit Mutual Health", "800-555-0177", planHMO},
		{"evergreen", "Evergreen Care Insurance", "800-555-0123", planPPO},
	}
	medicareAdvantage = payer{"harborview-senior", "Harborview Senior Advantage", "800-555-0165", planHMO}
)

// Names and places for people the generator invents.
var (
	femaleGiven = []string{"Ava", "Maria", "Grace", "Nora", "Elena", "Priya", "Hannah", "Leah", "Rosa", "Claire", "Amara", "June", "Mei", "Sofia", "Ruth", "Lena"}
	maleGiven   = []string{"Liam", "Omar", "Daniel", "Mateo", "Samuel", "Arjun", "Jonah", "Felix", "Caleb", "Hugo", "Isaac", "Theo", "Kwame", "Luis", "Peter", "Owen"}
	familyNames = []string{"Alvarez", "Brennan", "Chen", "Dubois", "Eriksen", "Fofana", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Lindqvist", "Mensah", "Nakamura", "Okafor", "Petrov", "Quinn", "Rahman", "Silva", "Tanaka", "Underwood", "Varga", "Whitfield", "Yilmaz"}
	streets     = []string{"Maple", "Harbor", "Orchard", "Cedar", "Summit", "Willow", "Chestnut", "Riverside", "Prospect", "Elm", "Beacon", "Granite"}
	streetKinds = []string{"Street", "Avenue", "Road", "Lane", "Drive", "Way"}

	// cities are in Massachusetts, like the Synthea population.
	cities = []struct{ name, zip string }{
		{"Boston", "02110"}, {"Cambridge", "02139"}, {"Worcester", "01608"}, {"Springfield", "01103"},
		{"Lowell", "01852"}, {"Salem", "01970"}, {"Quincy", "02169"}, {"Framingham", "01702"},
	}
)
