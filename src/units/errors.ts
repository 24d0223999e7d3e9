/** Errors of the units layer; `code` is what faces map to their protocols. */
export class UnitError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NoSuchUnitError extends UnitError {
  constructor(name: string) {
    super('NoSuchUnit', `no storage unit named ${JSON.stringify(name)}`);
  }
}

export class UnitExistsError extends UnitError {
  constructor(name: string) {
    super('UnitExists', `a storage unit named ${JSON.stringify(name)} exists`);
  }
}

export class InvalidUnitNameError extends UnitError {
  constructor(problem: string) {
    super('InvalidUnitName', problem);
  }
}

export class UnitNotEmptyError extends UnitError {
  constructor(name: string, objects: number) {
    super('UnitNotEmpty', `storage unit ${name} holds ${objects} objects; delete them first, or force`);
  }
}

export class QuotaExceededError extends UnitError {
  constructor(unit: string, hard: number) {
    super('QuotaExceeded', `the write would take storage unit ${unit} past its hard quota of ${hard} logical bytes`);
  }
}

export class NoSuchAccessKeyError extends UnitError {
  constructor(id: string) {
    super('NoSuchAccessKey', `no access key ${id}`);
  }
}

export class InvalidParametersError extends UnitError {
  constructor(message: string) {
    super('InvalidParameters', message);
  }
}
